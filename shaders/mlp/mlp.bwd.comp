#version 450
// Fused MLP backward, first pass: one invocation per row of a tile of local-x rows; each workgroup takes the
// tiles wg, wg + groups, ... in order. Per tile it propagates the output gradient back through the layers
// (the rows' deltas in registers, the activations from x, the saved h and y), stages each layer's deltas and
// inputs in shared memory and adds the tile's weight and bias gradients, summed over its rows in a fixed
// order, to the workgroup's own slot of partial (no atomics: deterministic). mlp.reduce sums the slots.
// Bindings: 0 x, 1 y, 2 h (saved hidden outputs), 3 dy, 4 dx (written when INPUT_GRAD), 5 partial
// [groups, packed parameter count], 6.. parameters (include/mlp.glsl).
// Specialization: include/mlp.glsl's shape, 19 INPUT_GRAD.  Push: n, packed parameter count.
#define MLP_PARAM_BASE 6
#include "kiln.glsl"
#include "mlp.glsl"
layout(constant_id = 19) const int INPUT_GRAD = 0;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Y { float y[]; };
layout(std430, binding = 2) readonly buffer H { float h[]; };
layout(std430, binding = 3) readonly buffer DY { float dy[]; };
layout(std430, binding = 4) writeonly buffer DX { float dx[]; };
layout(std430, binding = 5) buffer Part { float part[]; };
layout(push_constant) uniform P { uint n; uint count; } p;
// Sized for local x <= 32 (KernelSpec: FusedMlp.BackwardLocal).
shared float sd[32 * MLP_MAX_WIDTH];
shared float sa[32 * MLP_MAX_WIDTH];

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
        float d[MLP_MAX_WIDTH], nd[MLP_MAX_WIDTH];
        int wl = mlp_width(L);
        for (int j = 0; j < wl; j++)
            d[j] = valid ? dy[row * wl + j] * mlp_act_grad(mlp_act(L - 1), y[row * wl + j]) : 0.0;
        for (int l = L - 1; l >= 0; l--)
        {
            int fin = mlp_width(l), fout = mlp_width(l + 1);
            barrier();
            for (int j = 0; j < fout; j++) sd[r * MLP_MAX_WIDTH + j] = d[j];
            for (int k = 0; k < fin; k++)
                sa[r * MLP_MAX_WIDTH + k] = !valid ? 0.0
                    : l == 0 ? x[row * fin + k] : h[row * uint(hidden) + uint(mlp_hidden_offset(l - 1) + k)];
            barrier();
            uint base = wg * p.count + uint(mlp_param_offset(l));
            for (uint e = r; e < uint(fout * fin); e += tile)
            {
                uint j = e / uint(fin), k = e % uint(fin);
                float s = 0.0;
                for (uint q = 0; q < tile; q++) s += sd[q * MLP_MAX_WIDTH + j] * sa[q * MLP_MAX_WIDTH + k];
                part[base + e] = first ? s : part[base + e] + s;
            }
            for (uint j = r; j < uint(fout); j += tile)
            {
                float s = 0.0;
                for (uint q = 0; q < tile; q++) s += sd[q * MLP_MAX_WIDTH + j];
                uint e = base + uint(fout * fin) + j;
                part[e] = first ? s : part[e] + s;
            }
            if (l == 0 && INPUT_GRAD == 0) continue;
            for (int k = 0; k < fin; k++)
            {
                float s = 0.0;
                for (int j = 0; j < fout; j++) s += mlp_param(2 * l, j * fin + k) * d[j];
                nd[k] = l > 0 ? s * mlp_act_grad(mlp_act(l - 1), sa[r * MLP_MAX_WIDTH + k]) : s;
            }
            if (l > 0) for (int k = 0; k < fin; k++) d[k] = nd[k];
            else if (valid) for (int k = 0; k < fin; k++) dx[row * fin + k] = nd[k];
        }
        first = false;
    }
}
