#version 450
// Fused MLP forward for GPUs (MlpTileKernels): a workgroup of 256 invocations takes tiles of 64 rows (tiles wg,
// wg + groups, ...). The tile's activations stay in shared memory (mt_s0) between layers; each layer's weight
// is staged in mt_s1; each invocation computes a 4 x 4 register block of the layer's output (4 rows x 4
// units: 64 FMAs per 8 vec4 loads from shared memory), then writes it back over the input after a barrier.
// With SAVE the hidden layers' outputs go to h ([N, sum of hidden widths], the layout mlp.bwd and
// mlp.tile.bwd read), straight from registers.
// Bindings: 0 x [N, W0], 1 y [N, WL], 2 h, 3.. parameters (include/mlp.glsl).
// Specialization: include/mlp.glsl's shape, 19 SAVE.  Push: n (rows).  Local size 256 (mlp_tile.glsl).
#define MLP_PARAM_BASE 3
#include "kiln.glsl"
#include "mlp.glsl"
#include "mlp_tile.glsl"
layout(constant_id = 19) const int SAVE = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer H { float h[]; };
layout(push_constant) uniform P { uint n; } p;

void main()
{
    uint id = gl_LocalInvocationIndex, tx = id & 15u, ty = id >> 4;
    uint tiles = (p.n + MT_ROWS - 1u) / MT_ROWS;
    uint hidden = uint(mlp_hidden_offset(L - 1));
    for (uint t = gl_WorkGroupID.x; t < tiles; t += gl_NumWorkGroups.x)
    {
        uint row0 = t * MT_ROWS;
        barrier(); // the previous tile's last reads of mt_s0 are done
        for (uint e = id; e < 4096u; e += MT_LOCAL)
        {
            uint r = e >> 6, k = e & 63u, row = row0 + r;
            mt_s0[mt_at(r, k >> 2)][k & 3u] = row < p.n && k < uint(W0) ? x[row * uint(W0) + k] : 0.0;
        }
        for (int l = 0; l < L; l++)
        {
            int fin = mlp_width(l), fout = mlp_width(l + 1), act = mlp_act(l);
            uint k4s = uint(fin + 3) / 4u;
            barrier(); // mt_s1's previous weight is no longer read
            MT_STAGE_W(mt_s1, 2 * l, fin, fout)
            barrier();
            vec4 acc[4];
            vec4 bias = vec4(0.0);
            for (uint q = 0u; q < 4u; q++)
                if (4u * tx + q < uint(fout)) bias[q] = mlp_param(2 * l + 1, int(4u * tx + q));
            for (uint i = 0u; i < 4u; i++) acc[i] = bias;
            for (uint k4 = 0u; k4 < k4s; k4++)
            {
                vec4 w0 = mt_s1[mt_at(4u * tx, k4)], w1 = mt_s1[mt_at(4u * tx + 1u, k4)];
                vec4 w2 = mt_s1[mt_at(4u * tx + 2u, k4)], w3 = mt_s1[mt_at(4u * tx + 3u, k4)];
                for (uint i = 0u; i < 4u; i++)
                {
                    vec4 a = mt_s0[mt_at(ty + 16u * i, k4)];
                    acc[i] += a.x * vec4(w0.x, w1.x, w2.x, w3.x) + a.y * vec4(w0.y, w1.y, w2.y, w3.y)
                            + a.z * vec4(w0.z, w1.z, w2.z, w3.z) + a.w * vec4(w0.w, w1.w, w2.w, w3.w);
                }
            }
            barrier(); // every read of this layer's input is done
            bool last = l == L - 1;
            for (uint i = 0u; i < 4u; i++)
            {
                uint r = ty + 16u * i, row = row0 + r;
                vec4 v;
                for (uint q = 0u; q < 4u; q++)
                    v[q] = 4u * tx + q < uint(fout) ? kiln_activate(acc[i][q], act, SLOPE) : 0.0;
                if (!last) mt_s0[mt_at(r, tx)] = v;
                if (row >= p.n) continue;
                for (uint q = 0u; q < 4u; q++)
                {
                    uint j = 4u * tx + q;
                    if (j >= uint(fout)) break;
                    if (last) y[row * uint(fout) + j] = v[q];
                    else if (SAVE != 0) h[row * hidden + uint(mlp_hidden_offset(l)) + j] = v[q];
                }
            }
        }
    }
}
