#version 450
// Fused MLP backward, first pass: one invocation per row of a tile of local-x (<= 32) rows; each workgroup
// takes the tiles wg, wg + groups, ... in order. Per tile it propagates the output gradient back through the
// layers: the rows' deltas and the layer's inputs (from x, the saved h) sit in two shared buffers, the
// layer's weight in a third; the tile's weight and bias gradients, summed over its rows in a fixed order, are
// added to the workgroup's own slot of partial (no atomics: deterministic); mlp.reduce sums the slots.
// Bindings: 0 x, 1 y, 2 h (saved hidden outputs), 3 dy, 4 dx (written when INPUT_GRAD) (all act_t), 5 partial
// [groups, packed parameter count] (float), 6.. parameters (float, include/mlp.glsl).
// Specialization: include/mlp.glsl's shape, 19 INPUT_GRAD.  Push: n, packed parameter count.
#define MLP_PARAM_BASE 6
#include "kiln.glsl"
#include "mlp.glsl"
#include "storage.glsl"
layout(constant_id = 19) const int INPUT_GRAD = 0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Y { act_t y[]; };
layout(std430, binding = 2) readonly buffer H { act_t h[]; };
layout(std430, binding = 3) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 4) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 5) buffer Part { float part[]; };
layout(push_constant) uniform P { uint n; uint count; } p;
#define T 32
shared float sw[MLP_MAX_WIDTH * MLP_MAX_WIDTH];
// Two buffers of T rows: one holds the deltas at a layer's output, the other its input activations, which
// are then overwritten in place by the deltas at its input (the roles swap each layer).
shared float sb[2 * T * MLP_MAX_WIDTH];

void main()
{
    uint r = gl_LocalInvocationID.x, tile = gl_WorkGroupSize.x;
    uint wg = gl_WorkGroupID.x, groups = gl_NumWorkGroups.x;
    uint tiles = (p.n + tile - 1) / tile;
    int hidden = mlp_hidden_offset(L - 1);
    bool first = true;
    for (uint t = wg; t < tiles; t += groups)
    {
        uint row = t * tile + r;
        bool valid = row < p.n;
        uint d = 0; // buffer holding the deltas
        int wl = mlp_width(L);
        for (int j = 0; j < wl; j++)
            sb[r * MLP_MAX_WIDTH + j] = valid ? float(dy[row * wl + j]) * mlp_act_grad(mlp_act(L - 1), float(y[row * wl + j])) : 0.0;
        for (int l = L - 1; l >= 0; l--)
        {
            int fin = mlp_width(l), fout = mlp_width(l + 1);
            uint D = d * T * MLP_MAX_WIDTH, A = (1 - d) * T * MLP_MAX_WIDTH;
            barrier();
            MLP_STAGE(sw, 2 * l, fout * fin)
            for (int k = 0; k < fin; k++)
                sb[A + r * MLP_MAX_WIDTH + k] = !valid ? 0.0
                    : l == 0 ? float(x[row * fin + k]) : float(h[row * uint(hidden) + uint(mlp_hidden_offset(l - 1) + k)]);
            barrier();
            // Weight gradient: four inputs k..k+3 of output j per item, summed over the tile's rows in order.
            uint base = wg * p.count + uint(mlp_param_offset(l));
            int kb = (fin + 3) / 4;
            for (uint e = r; e < uint(fout * kb); e += tile)
            {
                int j = int(e) / kb, k = (int(e) % kb) * 4;
                int k1 = min(k + 1, fin - 1), k2 = min(k + 2, fin - 1), k3 = min(k + 3, fin - 1);
                vec4 s = vec4(0.0);
                for (uint q = 0; q < tile; q++)
                {
                    uint a = A + q * MLP_MAX_WIDTH;
                    s += sb[D + q * MLP_MAX_WIDTH + j] * vec4(sb[a + k], sb[a + k1], sb[a + k2], sb[a + k3]);
                }
                for (int i = 0; i < 4 && k + i < fin; i++)
                {
                    uint o = base + uint(j * fin + k + i);
                    part[o] = first ? s[i] : part[o] + s[i];
                }
            }
            for (uint j = r; j < uint(fout); j += tile)
            {
                float s = 0.0;
                for (uint q = 0; q < tile; q++) s += sb[D + q * MLP_MAX_WIDTH + j];
                uint o = base + uint(fout * fin) + j;
                part[o] = first ? s : part[o] + s;
            }
            if (l == 0 && INPUT_GRAD == 0) continue;
            barrier(); // the gradient sums above read every row of A
            // Deltas at the layer's input, four at a time, overwriting this row's activations in A.
            uint dr = D + r * MLP_MAX_WIDTH, ar = A + r * MLP_MAX_WIDTH;
            for (int k = 0; k < fin; k += 4)
            {
                int k1 = min(k + 1, fin - 1), k2 = min(k + 2, fin - 1), k3 = min(k + 3, fin - 1);
                vec4 s = vec4(0.0);
                for (int j = 0; j < fout; j++)
                {
                    int w = j * fin;
                    s += sb[dr + j] * vec4(sw[w + k], sw[w + k1], sw[w + k2], sw[w + k3]);
                }
                for (int i = 0; i < 4 && k + i < fin; i++)
                {
                    if (l > 0) sb[ar + k + i] = s[i] * mlp_act_grad(mlp_act(l - 1), sb[ar + k + i]);
                    else if (valid) dx[row * fin + k + i] = act_t(s[i]);
                }
            }
            d = 1 - d;
        }
        first = false;
    }
}
