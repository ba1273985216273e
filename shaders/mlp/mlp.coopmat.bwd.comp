#version 450
// Fused MLP backward on tensor cores (MlpCoopMatKernels), the deltas: a workgroup takes blocks of ROWS rows (blocks
// wg, wg + groups, ...; include/mlp_coopmat.glsl) and carries each block's deltas back through the layers, writing
// every layer's to d for mlp.coopmat.dw (the weight and bias gradients), which this pass leaves alone.
// The last layer's delta is dy times its activation's derivative (from y). Per layer l, with its delta in Ds (f16,
// [ROWS, P(l + 1)]), the delta at its input is Ds W: each subgroup holds the weight tiles of its column tiles of the
// result (wh, row-major B) in registers and multiplies every row tile of Ds by them; after a barrier (every subgroup
// has read all of Ds) the products, rounded to f16, go over Ds, and after another the workgroup multiplies them element
// by element by the derivative of layer l - 1's activation (from its output in h), rounds again and copies them to d;
// for l = 0 (with INPUT_GRAD) they go to dx instead. (The derivative is taken in shared memory by the whole workgroup:
// on lavapipe of Mesa 26, taking it on the matrices' elements against an f16 accumulator loaded from h, or per subgroup
// on its own tiles between subgroup barriers, gave wrong deltas.)
// Bindings: 0 y [N, WL], 1 dy [N, WL], 2 dx [N, W0] (written when INPUT_GRAD) (act_t), 3 h, 4 d (written), 5 wh (f16).
// Specialization: include/mlp.glsl's shape (20 PAD = S), 19 INPUT_GRAD, 21 SGS, 22 NSG.  Push: n (rows).
// Local size: SGS * NSG.  Shared memory: ROWS * 72 * 2 bytes (S = 16: 18 KiB).
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#include "kiln.glsl"
#include "mlp.glsl"
#include "storage.glsl"
#include "mlp_coopmat.glsl"

layout(constant_id = 19) const int INPUT_GRAD = 0;
layout(std430, binding = 0) readonly buffer Y { act_t y[]; };
layout(std430, binding = 1) readonly buffer DY { act_t dy[]; };
layout(std430, binding = 2) writeonly buffer DX { act_t dx[]; };
layout(std430, binding = 3) readonly buffer H { float16_t h[]; };
layout(std430, binding = 4) writeonly buffer D { float16_t d[]; };
layout(std430, binding = 5) readonly buffer WH { float16_t wh[]; };
layout(push_constant) uniform P { uint n; } p;

shared float16_t Ds[ROWS * LD];   // the block's deltas at the current layer's output

void main()
{
    const int tid = int(gl_LocalInvocationIndex), sg = int(gl_SubgroupID);
    const int n = int(p.n), blocks = (n + ROWS - 1) / ROWS, hp = mc_input_offset(L), dp = mc_delta_offset(L);
    for (int blk = int(gl_WorkGroupID.x); blk < blocks; blk += int(gl_NumWorkGroups.x))
    {
        const int row0 = blk * ROWS;
        barrier(); // the previous block's last reads of Ds are done
        {
            const int wl = mlp_width(L), pw = mlp_padded(L), off = mc_delta_offset(L - 1), act = mlp_act(L - 1);
            for (int e = tid; e < ROWS * pw; e += THREADS)
            {
                const int r = e / pw, j = e % pw, row = row0 + r;
                const float16_t v = float16_t(row < n && j < wl ? float(dy[row * wl + j]) * mlp_act_grad(act, float(y[row * wl + j])) : 0.0);
                Ds[r * LD + j] = v;
                d[row * dp + off + j] = v;
            }
        }
        barrier();
        [[unroll]] for (int l = MLP_MAX_LAYERS - 1; l >= 0; l--)
        {
            if (l >= L || (l == 0 && INPUT_GRAD == 0)) continue;
            const int pin = mlp_padded(l), pout = mlp_padded(l + 1), kt = pin / S, jt = pout / S, wo = mc_weight_offset(l);
            coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> acc[CT_MAX][RT];
            [[unroll]] for (int c = 0; c < CT_MAX; c++)
            {
                const int k = sg + c * NSG;
                if (k >= kt) continue;
                // W's tiles of column k, row-major.
                coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseB> b[NT_MAX];
                [[unroll]] for (int j = 0; j < NT_MAX; j++)
                    if (j < jt) coopMatLoad(b[j], wh, uint(wo + j * S * pin + k * S), uint(pin), gl_CooperativeMatrixLayoutRowMajor);
                [[unroll]] for (int i = 0; i < RT; i++)
                {
                    acc[c][i] = coopmat<float, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(0.0);
                    [[unroll]] for (int j = 0; j < NT_MAX; j++)
                    {
                        if (j >= jt) continue;
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseA> a;
                        coopMatLoad(a, Ds, uint(i * S * LD + j * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                        acc[c][i] = coopMatMulAdd(a, b[j], acc[c][i]);
                    }
                }
            }
            barrier(); // every subgroup's reads of Ds are done

            [[unroll]] for (int c = 0; c < CT_MAX; c++)
            {
                const int k = sg + c * NSG;
                if (k >= kt) continue;
                [[unroll]] for (int i = 0; i < RT; i++)
                {
                    coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator> o =
                        coopmat<float16_t, gl_ScopeSubgroup, S, S, gl_MatrixUseAccumulator>(acc[c][i]);
                    coopMatStore(o, Ds, uint(i * S * LD + k * S), uint(LD), gl_CooperativeMatrixLayoutRowMajor);
                }
            }
            barrier(); // the product is in Ds

            if (l > 0)
            {
                // Times the derivative of layer l - 1's activation, from its output (h), element by element; into d too.
                const int act = mlp_act(l - 1), hin = mc_input_offset(l), dout = mc_delta_offset(l - 1);
                for (int e = tid; e < ROWS * pin; e += THREADS)
                {
                    const int r = e / pin, k = e % pin, at = r * LD + k, row = row0 + r;
                    float16_t v = Ds[at];
                    if (act != ACT_NONE) v = float16_t(float(v) * mlp_act_grad(act, float(h[row * hp + hin + k])));
                    Ds[at] = v;
                    d[row * dp + dout + k] = v;
                }
                barrier(); // the delta at the layer's input is in Ds
            }
            else
                for (int e = tid; e < ROWS * W0; e += THREADS)
                {
                    const int r = e / W0, k = e % W0, row = row0 + r;
                    if (row < n) dx[row * W0 + k] = act_t(Ds[r * LD + k]);
                }
        }
    }
}
