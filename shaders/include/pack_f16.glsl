// Eight activations rounded to f16 and packed into one 16-byte unit (element 0 in the low half of .x): the staging
// unit of the patch kernels' shared tiles (conv2d.fwd_coopmat_patch.comp, conv2d.bwd_weight_coopmat_patch.comp),
// which cooperative-matrix loads read back as f16 matrices. Include after storage.glsl (act_t).
#ifndef KILN_PACK_F16_GLSL
#define KILN_PACK_F16_GLSL
uint kiln_pack_f16x2(act_t a, act_t b) { return packFloat2x16(f16vec2(float16_t(a), float16_t(b))); }
uvec4 kiln_pack_f16x8(act_t a0, act_t a1, act_t a2, act_t a3, act_t a4, act_t a5, act_t a6, act_t a7)
{
    return uvec4(kiln_pack_f16x2(a0, a1), kiln_pack_f16x2(a2, a3), kiln_pack_f16x2(a4, a5), kiln_pack_f16x2(a6, a7));
}
#endif
