#version 450
// Fused MLP backward for GPUs (MlpTileKernels), first pass, the deltas: a workgroup of 256 invocations takes tiles of
// 64 rows (tiles wg, wg + groups, ...) and propagates each tile's output gradient back through the layers, writing
// every layer's delta (the loss's gradient at its pre-activation) to d for mlp.tile.dw, which sums the weight and bias
// gradients from them. The deltas at a layer's output stay in shared memory (mt_s0); mt_s1 holds the layer's input
// activations (from x or the saved h), then its weight. With u = id / 16 (shared by half a subgroup) and v = id % 16,
// per layer and tile the deltas at the layer's input are a 4 x 4 block (rows v + 16 i, inputs 4 u ..) of delta x W
// times the activation's derivative. The next layer's input activations and the layer's weight are loaded into
// registers while the products run, and stored into shared memory when it is free.
// Bindings: 0 x, 1 y, 2 h (saved hidden outputs), 3 dy, 4 dx (written when INPUT_GRAD), 5 d [N, sum of the layers'
// output widths] (written) (all act_t), 6.. parameters (float, include/mlp.glsl).
// Specialization: include/mlp.glsl's shape, 19 INPUT_GRAD.  Push: n.  Local size 256.
#extension GL_EXT_control_flow_attributes : require
#define MLP_PARAM_BASE 6
#include "kiln.glsl"
#include "mlp.glsl"
#include "mlp_tile.glsl"
#include "storage.glsl"
layout(constant_id = 19) const int INPUT_GRAD = 0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Y { act_t y[]; };
layout(std430, binding = 2) readonly buffer H { act_t h[]; };
layout(std430, binding = 3) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 4) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 5) writeonly buffer D { act_t d[]; };
layout(push_constant) uniform P { uint n; } p;

vec4 act_grad4(int act, vec4 v)
{
    return vec4(mlp_act_grad(act, v.x), mlp_act_grad(act, v.y), mlp_act_grad(act, v.z), mlp_act_grad(act, v.w));
}

// Element k of row's input to layer l (x, or the saved output of layer l - 1), zero past the batch and the width.
float layer_input(int l, uint row, uint k)
{
    uint fin = uint(mlp_width(l));
    if (row >= p.n || k >= fin) return 0.0;
    return l == 0 ? float(x[row * fin + k]) : float(h[row * uint(mlp_hidden_offset(L - 1)) + uint(mlp_hidden_offset(l - 1)) + k]);
}

void main()
{
    uint id = gl_LocalInvocationIndex, u = id >> 4, v = id & 15u;
    uint tiles = (p.n + MT_ROWS - 1u) / MT_ROWS;
    uint hidden = uint(mlp_hidden_offset(L - 1));
    uint wl = uint(mlp_width(L)), dp = uint(mlp_hidden_offset(L));
    float pf[16]; // the next layer's input activations, prefetched: elements id + 256 m of the 64 x 64 tile
    for (uint t = gl_WorkGroupID.x; t < tiles; t += gl_NumWorkGroups.x)
    {
        uint row0 = t * MT_ROWS;
        barrier(); // the previous tile's last reads of mt_s0 are done
        for (uint e = id; e < 4096u; e += MT_LOCAL)
        {
            uint r = e >> 6, j = e & 63u, row = row0 + r;
            mt_s0[mt_at(r, j >> 2)][j & 3u] = row < p.n && j < wl
                ? float(dy[row * wl + j]) * mlp_act_grad(mlp_act(L - 1), float(y[row * wl + j])) : 0.0;
        }
        [[unroll]] for (int l = MLP_MAX_LAYERS - 1; l >= 0; l--)
        {
            if (l >= L) continue;
            uint fin = uint(mlp_width(l)), fout = uint(mlp_width(l + 1));
            // The layer's input activations: loaded here for the tile's last layer; for the others they were
            // prefetched into registers while the layer above was computed. Then the prefetch for the layer below.
            [[unroll]] for (uint m = 0u; m < 16u; m++)
            {
                uint e = id + m * MT_LOCAL;
                mt_s1[mt_at(e >> 6, (e & 63u) >> 2)][e & 3u] = l == L - 1 ? layer_input(l, row0 + (e >> 6), e & 63u) : pf[m];
            }
            if (l > 0)
                [[unroll]] for (uint m = 0u; m < 16u; m++)
                {
                    uint e = id + m * MT_LOCAL;
                    pf[m] = layer_input(l - 1, row0 + (e >> 6), e & 63u);
                }
            // The layer's weight (row j = unit, column k = input, zeros past the widths), into registers now, into
            // mt_s1 once the activations there are used: the loads are in flight during the products below.
            float wp[16];
            if (l > 0 || INPUT_GRAD != 0)
                [[unroll]] for (uint m = 0u; m < 16u; m++)
                {
                    uint e = id + m * MT_LOCAL, j = e >> 6, k = e & 63u;
                    wp[m] = j < fout && k < fin ? mlp_param(2 * l, int(j * fin + k)) : 0.0;
                }
            barrier();
            // The layer's deltas, for the weight gradients.
            for (uint e = id; e < 4096u; e += MT_LOCAL)
            {
                uint r = e >> 6, j = e & 63u, row = row0 + r;
                if (row < p.n && j < fout) d[row * dp + uint(mlp_hidden_offset(l)) + j] = act_t(mt_s0[mt_at(r, j >> 2)][j & 3u]);
            }
            if (l == 0 && INPUT_GRAD == 0) continue;
            vec4 ag[4];
            for (uint i = 0u; i < 4u; i++)
                ag[i] = l > 0 ? act_grad4(mlp_act(l - 1), mt_s1[mt_at(v + 16u * i, u)]) : vec4(1.0);
            barrier(); // every read of the activations is done
            [[unroll]] for (uint m = 0u; m < 16u; m++)
            {
                uint e = id + m * MT_LOCAL;
                mt_s1[mt_at(e >> 6, (e & 63u) >> 2)][e & 3u] = wp[m];
            }
            barrier();
            // Deltas at the layer's input: rows v + 16 i, inputs 4 u .. 4 u + 3.
            vec4 acc[4];
            for (uint i = 0u; i < 4u; i++) acc[i] = vec4(0.0);
            uint j4s = (fout + 3u) / 4u;
            if (4u * u < fin)
                for (uint j4 = 0u; j4 < j4s; j4++)
                {
                    vec4 w0 = mt_s1[mt_at(4u * j4, u)], w1 = mt_s1[mt_at(4u * j4 + 1u, u)];
                    vec4 w2 = mt_s1[mt_at(4u * j4 + 2u, u)], w3 = mt_s1[mt_at(4u * j4 + 3u, u)];
                    for (uint i = 0u; i < 4u; i++)
                    {
                        vec4 dl = mt_s0[mt_at(v + 16u * i, j4)];
                        acc[i] += dl.x * w0 + dl.y * w1 + dl.z * w2 + dl.w * w3;
                    }
                }
            if (l == 0)
            {
                for (uint i = 0u; i < 4u; i++)
                {
                    uint row = row0 + v + 16u * i;
                    if (row >= p.n) continue;
                    for (uint q = 0u; q < 4u; q++)
                        if (4u * u + q < fin) dx[row * fin + 4u * u + q] = act_t(acc[i][q]);
                }
                continue;
            }
            barrier(); // every read of the deltas and the weight is done
            for (uint i = 0u; i < 4u; i++) mt_s0[mt_at(v + 16u * i, u)] = acc[i] * ag[i];
        }
    }
}
