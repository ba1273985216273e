#version 450
// Fused MLP forward: the whole chain of Linear (+activation) layers in one dispatch, one invocation per row
// (local x <= 32 rows), each layer's weight staged in shared memory in turn; a row's activations live in
// its own row of a shared scratch (indexable storage, never read by other invocations), and each invocation
// computes four outputs per pass over its inputs. With SAVE the hidden layers' outputs are written to h
// ([N, sum of hidden widths]) for the backward pass.
// Bindings: 0 x [N, W0] (act_t), 1 y [N, WL] (act_t), 2 h (act_t), 3.. parameters (float, include/mlp.glsl). Under f16
// activation storage the layers still run in f32 in shared memory: only x is read and y, h are stored as f16.
// Specialization: include/mlp.glsl's shape, 19 SAVE.  Push: n (rows).  Dispatch: ceil(n / local x) groups.
#define MLP_PARAM_BASE 3
#include "kiln.glsl"
#include "mlp.glsl"
#include "storage.glsl"
layout(constant_id = 19) const int SAVE = 0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 2) writeonly buffer H { act_t h[]; };
layout(push_constant) uniform P { uint n; } p;
shared float sw[MLP_MAX_WIDTH * MLP_MAX_WIDTH];
// Two rows of activations per invocation (input and output of the current layer), 32 invocations at most.
shared float sa[2 * 32 * MLP_MAX_WIDTH];

void main()
{
    uint r = gl_LocalInvocationID.x, size = gl_WorkGroupSize.x;
    uint row = gl_WorkGroupID.x * size + r;
    bool valid = row < p.n;
    int hidden = mlp_hidden_offset(L - 1);
    uint cur = 0;
    for (int k = 0; k < W0; k++) sa[r * MLP_MAX_WIDTH + k] = valid ? float(x[row * W0 + k]) : 0.0;
    for (int l = 0; l < L; l++)
    {
        int fin = mlp_width(l), fout = mlp_width(l + 1), act = mlp_act(l);
        barrier();
        MLP_STAGE(sw, 2 * l, fout * fin)
        barrier();
        uint src = (cur * size + r) * MLP_MAX_WIDTH, out_ = ((1 - cur) * size + r) * MLP_MAX_WIDTH;
        for (int j = 0; j < fout; j += 4)
        {
            // Rows j..j+3 of the weight (clamped to the last row: lanes past fout are computed, never stored).
            int j1 = min(j + 1, fout - 1) * fin, j2 = min(j + 2, fout - 1) * fin, j3 = min(j + 3, fout - 1) * fin, j0 = j * fin;
            vec4 acc = vec4(0.0);
            for (int k = 0; k < fin; k++)
            {
                float a = sa[src + k];
                acc += a * vec4(sw[j0 + k], sw[j1 + k], sw[j2 + k], sw[j3 + k]);
            }
            for (int q = 0; q < 4 && j + q < fout; q++)
                sa[out_ + j + q] = kiln_activate(acc[q] + mlp_param(2 * l + 1, j + q), act, SLOPE);
        }
        cur = 1 - cur;
        if (SAVE != 0 && valid && l < L - 1)
        {
            uint base = row * uint(hidden) + uint(mlp_hidden_offset(l));
            for (int j = 0; j < fout; j++) h[base + j] = act_t(sa[out_ + j]);
        }
    }
    int wl = mlp_width(L);
    uint src = (cur * size + r) * MLP_MAX_WIDTH;
    if (valid) for (int j = 0; j < wl; j++) y[row * wl + j] = act_t(sa[src + j]);
}
