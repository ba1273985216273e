#version 450
// Fused MLP backward, second pass: each parameter element's gradient is the sum of the workgroups' partial
// slots written by the entry's backward (mlp.bwd, mlp.tile.bwd, mlp.coopmat.bwd), in slot order (deterministic),
// stored into that parameter's gradient buffer. A slot holds the parameters in the packed order of include/mlp.glsl
// (padded with PAD), then anything else the entry keeps there (stride floats in all).
// Bindings: 0 partial [groups, stride], 1.. gradients in the parameter slots' order (include/mlp.glsl).
// Specialization: include/mlp.glsl's shape (20 PAD).  Push: count (packed parameters, unpadded), groups, stride.
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "mlp.glsl"
layout(std430, binding = 0) readonly buffer Part { float part[]; };
#define MLP_GRAD(slot) layout(std430, binding = 1 + slot) writeonly buffer MlpG##slot { float v[]; } mlp_g##slot;
MLP_GRAD(0) MLP_GRAD(1) MLP_GRAD(2) MLP_GRAD(3) MLP_GRAD(4) MLP_GRAD(5) MLP_GRAD(6) MLP_GRAD(7)
MLP_GRAD(8) MLP_GRAD(9) MLP_GRAD(10) MLP_GRAD(11) MLP_GRAD(12) MLP_GRAD(13) MLP_GRAD(14) MLP_GRAD(15)
layout(push_constant) uniform P { uint count; uint groups; uint stride; } p;

void store(int s, int i, float v)
{
    switch (s)
    {
        case 0: mlp_g0.v[i] = v; break; case 1: mlp_g1.v[i] = v; break; case 2: mlp_g2.v[i] = v; break;
        case 3: mlp_g3.v[i] = v; break; case 4: mlp_g4.v[i] = v; break; case 5: mlp_g5.v[i] = v; break;
        case 6: mlp_g6.v[i] = v; break; case 7: mlp_g7.v[i] = v; break; case 8: mlp_g8.v[i] = v; break;
        case 9: mlp_g9.v[i] = v; break; case 10: mlp_g10.v[i] = v; break; case 11: mlp_g11.v[i] = v; break;
        case 12: mlp_g12.v[i] = v; break; case 13: mlp_g13.v[i] = v; break; case 14: mlp_g14.v[i] = v; break;
        default: mlp_g15.v[i] = v; break;
    }
}

void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    // Element i's parameter slot, index there, and place in a partial slot.
    int e = int(i), slot = 0, at = 0;
    for (int l = 0; l < L; l++)
    {
        int fin = mlp_width(l), nw = mlp_width(l + 1) * fin, nb = mlp_width(l + 1), o = mlp_padded_offset(l);
        if (e < nw) { slot = 2 * l; at = o + e / fin * mlp_padded(l) + e % fin; break; }
        e -= nw;
        if (e < nb) { slot = 2 * l + 1; at = o + mlp_padded(l + 1) * mlp_padded(l) + e; break; }
        e -= nb;
    }
    float s = 0.0;
    for (uint g = 0; g < p.groups; g++) s += part[g * p.stride + uint(at)];
    store(slot, e, s);
}
