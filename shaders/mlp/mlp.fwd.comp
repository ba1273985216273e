#version 450
// Fused MLP forward: the whole chain of Linear (+activation) layers in one dispatch, one invocation per row,
// each layer's weight and bias staged in shared memory in turn; the row's activations stay in registers.
// With SAVE the hidden layers' outputs are written to h ([N, sum of hidden widths]) for the backward pass.
// Bindings: 0 x [N, W0], 1 y [N, WL], 2 h, 3.. parameters (include/mlp.glsl).
// Specialization: include/mlp.glsl's shape, 19 SAVE.  Push: n (rows).  Dispatch: ceil(n / local x) groups.
#define MLP_PARAM_BASE 3
#include "kiln.glsl"
#include "mlp.glsl"
layout(constant_id = 19) const int SAVE = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer H { float h[]; };
layout(push_constant) uniform P { uint n; } p;
shared float sw[MLP_MAX_WIDTH * MLP_MAX_WIDTH + MLP_MAX_WIDTH];

void main()
{
    uint local = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    uint row = gl_WorkGroupID.x * size + local;
    bool valid = row < p.n;
    int hidden = mlp_hidden_offset(L - 1);
    float a[MLP_MAX_WIDTH], o[MLP_MAX_WIDTH];
    for (int k = 0; k < W0; k++) a[k] = valid ? x[row * W0 + k] : 0.0;
    for (int l = 0; l < L; l++)
    {
        int fin = mlp_width(l), fout = mlp_width(l + 1), act = mlp_act(l);
        barrier();
        for (uint i = local; i < uint(fout * fin); i += size) sw[i] = mlp_param(2 * l, int(i));
        for (uint i = local; i < uint(fout); i += size) sw[fout * fin + i] = mlp_param(2 * l + 1, int(i));
        barrier();
        for (int j = 0; j < fout; j++)
        {
            float s = 0.0;
            for (int k = 0; k < fin; k++) s += sw[j * fin + k] * a[k];
            o[j] = kiln_activate(s + sw[fout * fin + j], act, SLOPE);
        }
        for (int j = 0; j < fout; j++) a[j] = o[j];
        if (SAVE != 0 && valid && l < L - 1)
        {
            uint base = row * uint(hidden) + uint(mlp_hidden_offset(l));
            for (int j = 0; j < fout; j++) h[base + j] = a[j];
        }
    }
    int wl = mlp_width(L);
    if (valid) for (int j = 0; j < wl; j++) y[row * wl + j] = a[j];
}
