#version 450
// A BatchNorm2d (evaluation form) folded into the convolution before it (BatchNorm2d.EmitFold, inference plans): with
// s[c] = gamma[c] / sqrt(running_var[c] + EPS), the convolution of x with w'[c, ...] = w[c, ...] s[c] and bias
// b'[c] = (b[c] - running_mean[c]) s[c] + beta[c] (b = 0 without a bias) is the normalised convolution. Invocation i < W
// writes weight element i; invocation W + c the bias of channel c. Both are derived values, recomputed each step from
// the parameters (a few thousand elements).
// Bindings: 0 w [Cout, PER]  1 b [Cout] (read with HAS_BIAS)  2 gamma  3 beta  4 running_mean  5 running_var [Cout]
//           6 w' [Cout, PER]  7 b' [Cout] (float)
// Specialization: 0 HAS_BIAS (0/1), 1 EPS (float)
// Push constants: weights (Cout * PER), per (PER: the weights of one output channel), cout
// Dispatch: Emitter.ElementwiseGroups(weights + cout), local x = 256
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int HAS_BIAS = 1;
layout(constant_id = 1) const float EPS = 1e-5;

layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 3) readonly buffer Beta { float beta[]; };
layout(std430, binding = 4) readonly buffer Mean { float mean[]; };
layout(std430, binding = 5) readonly buffer Var { float var[]; };
layout(std430, binding = 6) writeonly buffer WF { float wFolded[]; };
layout(std430, binding = 7) writeonly buffer BF { float bFolded[]; };

layout(push_constant) uniform P { uint weights, per, cout; } p;

float scale(uint c) { return gamma[c] * inversesqrt(var[c] + EPS); }

void main()
{
    const uint i = kiln_element_index();
    if (i < p.weights)
    {
        wFolded[i] = w[i] * scale(i / p.per);
        return;
    }
    const uint c = i - p.weights;
    if (c >= p.cout) return;
    bFolded[c] = ((HAS_BIAS != 0 ? b[c] : 0.0) - mean[c]) * scale(c) + beta[c];
}
