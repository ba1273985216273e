#version 450
// Fused MLP backward for GPUs (MlpTileKernels), second pass, the parameters' gradients: workgroup (g, l) sums layer
// l's weight gradient d_l^T a_l and bias gradient (the column sums of d_l) over chunk g of the rows (whole 64-row
// tiles) into partial slot g, in the packed order of include/mlp.glsl, which mlp.reduce then sums over the slots in
// order. Per tile the layer's deltas (from d, mlp.tile.bwd) and inputs (x, or the saved h) are staged into shared
// memory (mt_s0, mt_s1: include/mlp_tile.glsl); with u = id / 16 and v = id % 16, each invocation accumulates a 4 x 4
// block (units 4 ub .., inputs 4 ib ..) over the rows in order, the narrower of units and inputs indexed by u so that
// blocks past a narrow width are skipped by whole half-subgroups, and a column sum over a quarter of the rows.
// Bindings: 0 x, 1 h, 2 d (act_t), 3 partial [groups, count] (float).
// Specialization: include/mlp.glsl's shape.  Push: n, chunk (rows a workgroup, a multiple of 64), count (the packed
// parameters).  Local size 256.  Dispatch: (groups, L, 1).
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "mlp.glsl"
#include "mlp_tile.glsl"
#include "storage.glsl"
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer H { act_t h[]; };
layout(std430, binding = 2) readonly buffer D { act_t d[]; };
layout(std430, binding = 3) writeonly buffer Part { float part[]; };
layout(push_constant) uniform P { uint n; uint chunk; uint count; } p;

void main()
{
    uint id = gl_LocalInvocationIndex, u = id >> 4, v = id & 15u;
    int l = int(gl_WorkGroupID.y);
    uint fin = uint(mlp_width(l)), fout = uint(mlp_width(l + 1));
    uint hidden = uint(mlp_hidden_offset(L - 1)), hin = l > 0 ? uint(mlp_hidden_offset(l - 1)) : 0u;
    uint dp = uint(mlp_hidden_offset(L)), dout = uint(mlp_hidden_offset(l));
    uint r0 = gl_WorkGroupID.x * p.chunk, r1 = min(r0 + p.chunk, p.n);
    uint ub = fout <= fin ? u : v, ib = fout <= fin ? v : u;
    vec4 g[4];
    for (uint i = 0u; i < 4u; i++) g[i] = vec4(0.0);
    float gb = 0.0;
    for (uint row0 = r0; row0 < r1; row0 += MT_ROWS)
    {
        barrier(); // the previous tile's reads are done
        for (uint e = id; e < 4096u; e += MT_LOCAL)
        {
            uint r = e >> 6, c = e & 63u, row = row0 + r;
            bool live = row < r1;
            mt_s0[mt_at(r, c >> 2)][c & 3u] = live && c < fout ? float(d[row * dp + dout + c]) : 0.0;
            mt_s1[mt_at(r, c >> 2)][c & 3u] = live && c < fin ? float(l == 0 ? x[row * fin + c] : h[row * hidden + hin + c]) : 0.0;
        }
        barrier();
        if (4u * u < min(fout, fin))
            for (uint r = 0u; r < MT_ROWS; r++)
            {
                vec4 dl = mt_s0[mt_at(r, ub)], a = mt_s1[mt_at(r, ib)];
                g[0] += dl.x * a;
                g[1] += dl.y * a;
                g[2] += dl.z * a;
                g[3] += dl.w * a;
            }
        uint j = id & 63u, q0 = (id >> 6) * 16u;
        for (uint r = 0u; r < 16u; r++) gb += mt_s0[mt_at(q0 + r, j >> 2)][j & 3u];
    }

    // The weight block straight from registers; the bias as the four row quarters' sums (staged in mt_s1) in order.
    uint off = gl_WorkGroupID.x * p.count + uint(mlp_param_offset(l));
    for (uint i = 0u; i < 4u; i++)
    {
        uint j = 4u * ub + i;
        if (j >= fout) continue;
        for (uint q = 0u; q < 4u; q++)
            if (4u * ib + q < fin) part[off + j * fin + 4u * ib + q] = g[i][q];
    }
    barrier();
    mt_s1[id >> 2][id & 3u] = gb;
    barrier();
    if (id >= fout) return;
    float s = 0.0;
    for (uint q = 0u; q < 4u; q++)
    {
        uint c = id + 64u * q;
        s += mt_s1[c >> 2][c & 3u];
    }
    part[off + fout * fin + id] = s;
}
