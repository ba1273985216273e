#version 450
// Fused MLP backward on tensor cores (MlpCoopMatKernels), first pass: a workgroup takes blocks of ROWS rows
// (blocks wg, wg + groups, ...; include/mlp_coopmat.glsl) and carries each block's deltas back through the layers.
// Per layer l, with the deltas at its output in Ds (f16, [ROWS, padded W(l+1)]):
//   1. the workgroup stages the layer's input (x, or layer l - 1's saved output from h) into As and its weight into Ws;
//   2. weight gradient dW = Ds^T As and bias gradient ones^T Ds, over the block's rows: the work is split into rows
//      of S units (the A operand, a column-major load of Ds, shared by the row's tiles), row i going to subgroup
//      i % NSG. Each row's tiles (and its bias tile, S x S: every row of it the column sums) are loaded from the
//      workgroup's partial slot (zeros for its first block), take the block's products, and are stored back
//      (L2-resident read-modify-writes, always by the same subgroup). Every subgroup runs the same number of rows, so
//      that every cooperative-matrix operation is reached by the whole workgroup; a subgroup past the layer's last
//      row multiplies a real row and stores into its own scratch tiles past the parameters;
//   3. deltas at the layer's input (l > 0, or l = 0 with INPUT_GRAD): each subgroup its own rows, Ds W (row-major
//      B: Ws holds W), stored over Ds after a barrier (every subgroup has read all of Ds in 2), then multiplied there
//      by the derivative of layer l - 1's activation element by element (from its output in As), or copied to dx
//      for l = 0.
// mlp.reduce (PAD = S) then sums the slots in order (a bias from row 0 of its tile).
// Bindings: 0 x, 1 y, 2 h (saved hidden outputs), 3 dy, 4 dx (written when INPUT_GRAD) (all act_t), 5 partial
// [groups, stride] (float: the padded packed parameters of include/mlp.glsl, then NSG * S * (64 + S) scratch),
// 6.. parameters (float, include/mlp.glsl).
// Specialization: include/mlp.glsl's shape (20 PAD = S), 19 INPUT_GRAD, 21 SGS, 22 NSG.  Push: n, stride.
// Local size: SGS * NSG.  Shared memory: (2 ROWS + 64) * 72 * 2 bytes (S = 16: 45 KiB).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#define MLP_PARAM_BASE 6
#include "kiln.glsl"
#include "mlp.glsl"
#include "storage.glsl"
#include "mlp_coopmat.glsl"

layout(constant_id = 19) const int INPUT_GRAD = 0;
layout(std430, binding = 0) readonly buffer X { act_t x[]; };
layout(std430, binding = 1) readonly buffer Y { act_t y[]; };
layout(std430, binding = 2) readonly buffer H { act_t h[]; };
layout(std430, binding = 3) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 4) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 5) coherent buffer Part { float part[]; };
layout(push_constant) uniform P { uint n; uint stride; } p;

shared float16_t Ds[ROWS * LD];   // the block's deltas at the current layer's output
shared float16_t As[ROWS * LD];   // the block's input activations of the current layer

void main()
{
    const int tid = int(gl_LocalInvocationIndex), sg = int(gl_SubgroupID), lane = int(gl_SubgroupInvocationID);
    const int n = int(p.n), blocks = (n + ROWS - 1) / ROWS, hidden = mlp_hidden_offset(L - 1), r0 = sg * RS;
    const int base = int(gl_WorkGroupID.x) * int(p.stride), scratch = base + mlp_padded_offset(L) + sg * S * (MLP_MAX_WIDTH + S);
    const coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> ones = coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA>(1.0);
    for (int blk = int(gl_WorkGroupID.x); blk < blocks; blk += int(gl_NumWorkGroups.x))
    {
        const int row0 = blk * ROWS;
        const bool first = blk == int(gl_WorkGroupID.x);
        barrier(); // the previous block's last reads of Ds, As and Ws are done
        {
            const int wl = mlp_width(L), pw = mlp_padded(L);
            for (int e = tid; e < ROWS * pw; e += THREADS)
            {
                const int r = e / pw, j = e % pw, row = row0 + r;
                Ds[r * LD + j] = float16_t(row < n && j < wl
                    ? float(dy[row * wl + j]) * mlp_act_grad(mlp_act(L - 1), float(y[row * wl + j])) : 0.0);
            }
        }
        [[unroll]] for (int l = MLP_MAX_LAYERS - 1; l >= 0; l--)
        {
            if (l >= L) continue;
            const int fin = mlp_width(l), fout = mlp_width(l + 1), pin = mlp_padded(l), pout = mlp_padded(l + 1);
            const int kt = pin / S, jt = pout / S, off = l > 0 ? mlp_hidden_offset(l - 1) : 0;
            const bool delta = l > 0 || INPUT_GRAD != 0;
            // 1. The layer's input and weight.
            for (int e = tid; e < ROWS * pin; e += THREADS)
            {
                const int r = e / pin, k = e % pin, row = row0 + r;
                float v = 0.0;
                if (row < n && k < fin) v = l == 0 ? float(x[row * fin + k]) : float(h[row * hidden + off + k]);
                As[r * LD + k] = float16_t(v);
            }
            if (delta) MC_STAGE_W(l)
            barrier();

            // 2. Weight and bias gradients, one row of S units (jt of them) per subgroup and round.
            const int rounds = (jt + NSG - 1) / NSG, wbase = base + mlp_padded_offset(l), bbase = wbase + pout * pin;
            for (int round = 0; round < rounds; round++)
            {
                const int row = round * NSG + sg, u = min(row, jt - 1);
                const int dst = row < jt ? wbase + u * S * pin : scratch, bdst = row < jt ? bbase + u * S : scratch + S * MLP_MAX_WIDTH;
                const uint ld = uint(row < jt ? pin : MLP_MAX_WIDTH), bld = uint(row < jt ? pout : S);
                coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> c[NT_MAX], cb;
                if (first) cb = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);
                else coopMatLoad(cb, part, uint(bdst), bld, gl_CooperativeMatrixLayoutRowMajor);
                [[unroll]] for (int k = 0; k < NT_MAX; k++)
                {
                    if (k >= kt) continue;
                    if (first) c[k] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);
                    else coopMatLoad(c[k], part, uint(dst + k * S), ld, gl_CooperativeMatrixLayoutRowMajor);
                }
                for (int r = 0; r < ROWS; r += S)
                {
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a;
                    coopMatLoad(a, Ds, uint(r * LD + u * S), uint(LD), gl_CooperativeMatrixLayoutColumnMajor);
                    [[unroll]] for (int k = 0; k < NT_MAX; k++)
                    {
                        if (k >= kt) continue;
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> b;
                        coopMatLoad(b, As, uint(r * LD + k * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                        c[k] = coopMatMulAdd(a, b, c[k]);
                    }
                    // The bias: ones times the deltas, every row of the tile their column sums.
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> d;
                    coopMatLoad(d, Ds, uint(r * LD + u * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                    cb = coopMatMulAdd(ones, d, cb);
                }
                coopMatStore(cb, part, uint(bdst), bld, gl_CooperativeMatrixLayoutRowMajor);
                [[unroll]] for (int k = 0; k < NT_MAX; k++)
                    if (k < kt) coopMatStore(c[k], part, uint(dst + k * S), ld, gl_CooperativeMatrixLayoutRowMajor);
            }
            if (!delta) continue;

            // 3. Deltas at the layer's input: this subgroup's rows.
            coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[TR][NT_MAX];
            [[unroll]] for (int i = 0; i < TR; i++)
                [[unroll]] for (int k = 0; k < NT_MAX; k++)
                    if (k < kt) acc[i][k] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);
            [[unroll]] for (int j = 0; j < NT_MAX; j++)
            {
                if (j >= jt) continue;
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a[TR];
                [[unroll]] for (int i = 0; i < TR; i++)
                    coopMatLoad(a[i], Ds, uint((r0 + i * S) * LD + j * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                [[unroll]] for (int k = 0; k < NT_MAX; k++)
                {
                    if (k >= kt) continue;
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> b;
                    coopMatLoad(b, Ws, uint(j * S * LD + k * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                    [[unroll]] for (int i = 0; i < TR; i++) acc[i][k] = coopMatMulAdd(a[i], b, acc[i][k]);
                }
            }
            barrier(); // every subgroup's reads of Ds (the gradients) are done
            [[unroll]] for (int i = 0; i < TR; i++)
                [[unroll]] for (int k = 0; k < NT_MAX; k++)
                {
                    if (k >= kt) continue;
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> o =
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(acc[i][k]);
                    coopMatStore(o, Ds, uint((r0 + i * S) * LD + k * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            if (l > 0)
            {
                // Times the derivative of layer l - 1's activation, from its output (As), element by element.
                const int act = mlp_act(l - 1);
                for (int e = lane; e < RS * pin; e += SGS)
                {
                    const int at = (r0 + e / pin) * LD + e % pin;
                    Ds[at] = float16_t(float(Ds[at]) * mlp_act_grad(act, float(As[at])));
                }
            }
            else
                for (int e = lane; e < RS * fin; e += SGS)
                {
                    const int r = e / fin, k = e % fin, row = row0 + r0 + r;
                    if (row < n) dx[row * fin + k] = act_t(Ds[(r0 + r) * LD + k]);
                }
            barrier(); // the new deltas are in Ds; every read of As and Ws is done
        }
        memoryBarrierBuffer();
    }

}
