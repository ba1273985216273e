#version 450
// Fused MLP forward for GPUs (MlpTileKernels): a workgroup of 256 invocations takes tiles of 64 rows (tiles wg,
// wg + groups, ...). The tile's activations stay in shared memory (mt_s0) between layers; each layer's weight
// is staged in mt_s1; each invocation computes a 4 x 4 register block of the layer's output (rows rb + 16 i,
// units 4 ub ..: 64 FMAs per 8 vec4 loads from shared memory) and writes it back over the input after a
// barrier. The unit block ub = id / 16 is shared by half a subgroup of 32, so on a narrow layer (the output
// layer's 3 units) the invocations past its width skip the products as whole half-subgroups. With SAVE the
// hidden layers' outputs are copied to h ([N, sum of hidden widths], the layout mlp.bwd and mlp.tile.bwd read)
// from mt_s0, a row's units by consecutive invocations (coalesced), as is y.
// Bindings: 0 x [N, W0] (act_t), 1 y [N, WL] (act_t), 2 h (act_t), 3.. parameters (float, include/mlp.glsl). Under f16
// activation storage the tiles stay f32 in shared memory: x is converted at the load, y and h at the store.
// Specialization: include/mlp.glsl's shape, 19 SAVE.  Push: n (rows).  Local size 256 (mlp_tile.glsl).
#define MLP_PARAM_BASE 3
#include "kiln.glsl"
#include "mlp.glsl"
#include "mlp_tile.glsl"
#include "storage.glsl"
layout(constant_id = 19) const int SAVE = 0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { act_t y[]; };
layout(std430, binding = 2) writeonly buffer H { act_t h[]; };
layout(push_constant) uniform P { uint n; } p;

void main()
{
    uint id = gl_LocalInvocationIndex, ub = id >> 4, rb = id & 15u;
    uint tiles = (p.n + MT_ROWS - 1u) / MT_ROWS;
    uint hidden = uint(mlp_hidden_offset(L - 1));
    for (uint t = gl_WorkGroupID.x; t < tiles; t += gl_NumWorkGroups.x)
    {
        uint row0 = t * MT_ROWS;
        barrier(); // the previous tile's last reads of mt_s0 are done
        for (uint e = id; e < 4096u; e += MT_LOCAL)
        {
            uint r = e >> 6, k = e & 63u, row = row0 + r;
            mt_s0[mt_at(r, k >> 2)][k & 3u] = row < p.n && k < uint(W0) ? float(x[row * uint(W0) + k]) : 0.0;
        }
        for (int l = 0; l < L; l++)
        {
            int fin = mlp_width(l), fout = mlp_width(l + 1), act = mlp_act(l);
            barrier(); // mt_s1's previous weight is no longer read; mt_s0 holds the layer's input
            if (SAVE != 0 && l > 0)
            {
                // The previous layer's output, as saved for the backward pass.
                uint w = uint(fin), off = uint(mlp_hidden_offset(l - 1));
                for (uint e = id; e < 4096u; e += MT_LOCAL)
                {
                    uint r = e >> 6, j = e & 63u, row = row0 + r;
                    if (j < w && row < p.n) h[row * hidden + off + j] = act_t(mt_s0[mt_at(r, j >> 2)][j & 3u]);
                }
            }
            MT_STAGE_W(mt_s1, 2 * l, fin, fout)
            barrier();
            vec4 bias = vec4(0.0);
            for (uint q = 0u; q < 4u; q++)
                if (4u * ub + q < uint(fout)) bias[q] = mlp_param(2 * l + 1, int(4u * ub + q));
            vec4 acc[4];
            for (uint i = 0u; i < 4u; i++) acc[i] = bias;
            if (4u * ub < uint(fout))
            {
                uint k4s = uint(fin + 3) / 4u;
                for (uint k4 = 0u; k4 < k4s; k4++)
                {
                    vec4 w0 = mt_s1[mt_at(4u * ub, k4)], w1 = mt_s1[mt_at(4u * ub + 1u, k4)];
                    vec4 w2 = mt_s1[mt_at(4u * ub + 2u, k4)], w3 = mt_s1[mt_at(4u * ub + 3u, k4)];
                    for (uint i = 0u; i < 4u; i++)
                    {
                        vec4 a = mt_s0[mt_at(rb + 16u * i, k4)];
                        acc[i] += a.x * vec4(w0.x, w1.x, w2.x, w3.x) + a.y * vec4(w0.y, w1.y, w2.y, w3.y)
                                + a.z * vec4(w0.z, w1.z, w2.z, w3.z) + a.w * vec4(w0.w, w1.w, w2.w, w3.w);
                    }
                }
            }
            barrier(); // every read of this layer's input is done
            for (uint i = 0u; i < 4u; i++)
            {
                vec4 v;
                for (uint q = 0u; q < 4u; q++)
                    v[q] = 4u * ub + q < uint(fout) ? kiln_activate(acc[i][q], act, SLOPE) : 0.0;
                mt_s0[mt_at(rb + 16u * i, ub)] = v;
            }
        }
        barrier();
        uint wl = uint(mlp_width(L));
        for (uint e = id; e < 4096u; e += MT_LOCAL)
        {
            uint r = e >> 6, j = e & 63u, row = row0 + r;
            if (j < wl && row < p.n) y[row * wl + j] = act_t(mt_s0[mt_at(r, j >> 2)][j & 3u]);
        }
    }
}
