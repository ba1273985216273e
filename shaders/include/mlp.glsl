// Shared by shaders/mlp/*.comp: the fused MLP's shape (specialization constants) and its parameters.
// A chain of L <= 8 Linear layers, widths W0 (input) .. WL (output), each <= 64; ACTl is the activation
// after layer l (Kiln.Activation codes), SLOPE LeakyReLU's slope; PAD pads every width to a multiple of
// itself in the layouts of MlpCoopMatKernels (its matrices' size; 0 = no padding: every other entry).
// Parameters are bound as 2L consecutive buffers from MLP_PARAM_BASE: weight l [W(l+1), W(l)] then bias l
// [W(l+1)]; slots past 2L are bound to any buffer and never read (declared only where MLP_PARAM_BASE is
// defined). Packed parameter order (partial gradients): w0, b0, w1, b1, ... (with PAD: each weight
// [padded W(l+1), padded W(l)], each bias a tile [PAD, padded W(l+1)] whose row 0 is read; padding never read).
#ifndef KILN_MLP_GLSL
#define KILN_MLP_GLSL
#define MLP_MAX_LAYERS 8
#define MLP_MAX_WIDTH 64

layout(constant_id = 0) const int L = 1;
layout(constant_id = 1) const int W0 = 1;
layout(constant_id = 2) const int W1 = 1;
layout(constant_id = 3) const int W2 = 1;
layout(constant_id = 4) const int W3 = 1;
layout(constant_id = 5) const int W4 = 1;
layout(constant_id = 6) const int W5 = 1;
layout(constant_id = 7) const int W6 = 1;
layout(constant_id = 8) const int W7 = 1;
layout(constant_id = 9) const int W8 = 1;
layout(constant_id = 10) const int ACT0 = 0;
layout(constant_id = 11) const int ACT1 = 0;
layout(constant_id = 12) const int ACT2 = 0;
layout(constant_id = 13) const int ACT3 = 0;
layout(constant_id = 14) const int ACT4 = 0;
layout(constant_id = 15) const int ACT5 = 0;
layout(constant_id = 16) const int ACT6 = 0;
layout(constant_id = 17) const int ACT7 = 0;
layout(constant_id = 18) const float SLOPE = 0.01;
layout(constant_id = 20) const int PAD = 0;

int mlp_width(int i)
{
    switch (i)
    {
        case 0: return W0; case 1: return W1; case 2: return W2; case 3: return W3; case 4: return W4;
        case 5: return W5; case 6: return W6; case 7: return W7; default: return W8;
    }
}

int mlp_act(int l)
{
    switch (l)
    {
        case 0: return ACT0; case 1: return ACT1; case 2: return ACT2; case 3: return ACT3;
        case 4: return ACT4; case 5: return ACT5; case 6: return ACT6; default: return ACT7;
    }
}

// Derivative of the activation from its OUTPUT y (as shaders/elementwise/unary.bwd.comp).
float mlp_act_grad(int act, float y)
{
    if (act == ACT_RELU) return y > 0.0 ? 1.0 : 0.0;
    if (act == ACT_LEAKY_RELU) return y > 0.0 ? 1.0 : SLOPE;
    if (act == ACT_SIGMOID) return y * (1.0 - y);
    if (act == ACT_TANH) return 1.0 - y * y;
    return 1.0;
}

// Offset of layer l's weight in the packed parameter order; its bias follows the weight.
int mlp_param_offset(int l)
{
    int o = 0;
    for (int i = 0; i < l; i++) o += mlp_width(i + 1) * (mlp_width(i) + 1);
    return o;
}

// Width i rounded up to a multiple of PAD (itself without PAD).
int mlp_padded(int i)
{
    int w = mlp_width(i);
    return PAD > 0 ? (w + PAD - 1) / PAD * PAD : w;
}

// Offset of layer l's weight in the padded packed order (mlp_param_offset without PAD); its bias follows the weight.
int mlp_padded_offset(int l)
{
    int o = 0;
    for (int i = 0; i < l; i++) o += mlp_padded(i + 1) * (mlp_padded(i) + max(PAD, 1));
    return o;
}

// Offset of layer l's output among a row's saved hidden activations (l < L - 1).
int mlp_hidden_offset(int l)
{
    int o = 0;
    for (int i = 0; i < l; i++) o += mlp_width(i + 1);
    return o;
}

#ifdef MLP_PARAM_BASE
#define MLP_PARAM(slot) layout(std430, binding = MLP_PARAM_BASE + slot) readonly buffer MlpP##slot { float v[]; } mlp_p##slot;
MLP_PARAM(0) MLP_PARAM(1) MLP_PARAM(2) MLP_PARAM(3) MLP_PARAM(4) MLP_PARAM(5) MLP_PARAM(6) MLP_PARAM(7)
MLP_PARAM(8) MLP_PARAM(9) MLP_PARAM(10) MLP_PARAM(11) MLP_PARAM(12) MLP_PARAM(13) MLP_PARAM(14) MLP_PARAM(15)

// Element i of parameter slot s (2l: weight of layer l, 2l + 1: its bias).
float mlp_param(int s, int i)
{
    switch (s)
    {
        case 0: return mlp_p0.v[i]; case 1: return mlp_p1.v[i]; case 2: return mlp_p2.v[i]; case 3: return mlp_p3.v[i];
        case 4: return mlp_p4.v[i]; case 5: return mlp_p5.v[i]; case 6: return mlp_p6.v[i]; case 7: return mlp_p7.v[i];
        case 8: return mlp_p8.v[i]; case 9: return mlp_p9.v[i]; case 10: return mlp_p10.v[i]; case 11: return mlp_p11.v[i];
        case 12: return mlp_p12.v[i]; case 13: return mlp_p13.v[i]; case 14: return mlp_p14.v[i]; default: return mlp_p15.v[i];
    }
}

// Copies parameter slot s's first count elements into dst[0..count) (a shared array), spread over the
// workgroup's invocations: the slot is chosen once, outside the copy loop.
#define MLP_STAGE_CASE(dst, slot) case slot: for (uint i = gl_LocalInvocationIndex; i < count; i += gl_WorkGroupSize.x) dst[i] = mlp_p##slot.v[i]; break;
#define MLP_STAGE(dst, s, n) { uint count = uint(n); switch (s) { \
    MLP_STAGE_CASE(dst, 0) MLP_STAGE_CASE(dst, 1) MLP_STAGE_CASE(dst, 2) MLP_STAGE_CASE(dst, 3) MLP_STAGE_CASE(dst, 4) MLP_STAGE_CASE(dst, 5) \
    MLP_STAGE_CASE(dst, 6) MLP_STAGE_CASE(dst, 7) MLP_STAGE_CASE(dst, 8) MLP_STAGE_CASE(dst, 9) MLP_STAGE_CASE(dst, 10) MLP_STAGE_CASE(dst, 11) \
    MLP_STAGE_CASE(dst, 12) MLP_STAGE_CASE(dst, 13) MLP_STAGE_CASE(dst, 14) default: for (uint i = gl_LocalInvocationIndex; i < count; i += gl_WorkGroupSize.x) dst[i] = mlp_p15.v[i]; break; } }
#endif
#endif
