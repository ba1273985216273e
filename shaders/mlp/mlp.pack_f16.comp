#version 450
// Fused MLP on tensor cores (MlpCoopMatKernels), before the forward: the parameters in the kernels' padded forms
// (include/mlp_coopmat.glsl): every weight rounded to f16 into wh, every bias into bt as a tile of S equal rows, zeros
// past the real widths. One invocation per element of the larger of the two.
// Bindings: 0 wh (f16), 1 bt (float), 2.. parameters (float, include/mlp.glsl).
// Specialization: include/mlp.glsl's shape (20 PAD = S).  Push: weights (wh's elements), biases (bt's).
// Dispatch: Emitter.ElementwiseGroups(max of the two), local x = 256.
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define MLP_PARAM_BASE 2
#include "kiln.glsl"
#include "elementwise.glsl"
#include "mlp.glsl"
#define S PAD
layout(std430, binding = 0) writeonly buffer WH { float16_t wh[]; };
layout(std430, binding = 1) writeonly buffer BT { float bt[]; };
layout(push_constant) uniform P { uint weights; uint biases; } p;

void main()
{
    const int i = int(kiln_element_index());
    if (i < int(p.weights))
    {
        int e = i, l = 0;
        while (l + 1 < L && e >= mlp_padded(l + 1) * mlp_padded(l)) { e -= mlp_padded(l + 1) * mlp_padded(l); l++; }
        const int fin = mlp_width(l), j = e / mlp_padded(l), k = e % mlp_padded(l);
        wh[i] = float16_t(j < mlp_width(l + 1) && k < fin ? mlp_param(2 * l, j * fin + k) : 0.0);
    }
    if (i < int(p.biases))
    {
        int e = i, l = 0;
        while (l + 1 < L && e >= S * mlp_padded(l + 1)) { e -= S * mlp_padded(l + 1); l++; }
        const int j = e % mlp_padded(l + 1);
        bt[i] = j < mlp_width(l + 1) ? mlp_param(2 * l + 1, j) : 0.0;
    }
}
