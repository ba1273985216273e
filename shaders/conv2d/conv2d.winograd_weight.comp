#version 450
// A 3x3 convolution's weight transformed for the Winograd F(2x2, 3x3) kernel (conv2d.fwd_winograd.comp, Conv2dWinograd):
// for each output channel co and input channel ci, the 4 x 4 matrix u = G g G^T of its 3 x 3 kernel g, with
//   G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
// laid out u[(e * CIP + ci) * COP + co] for the 16 elements e = 4 r + c of u, zero for co >= COUT or ci >= CIN, so the
// kernel's chunk of 8 input channels by 32 output channels of element e is 8 rows of 32 contiguous floats. With FLIP,
// w is the weight [CIN, COUT, 3, 3] of a stride-1 convolution whose input gradient the kernel computes as a forward
// convolution of dY: g is its kernel with the channels swapped and turned by 180 degrees,
//   g[ky][kx] = w[(ci * COUT + co) * 9 + (2 - ky) * 3 + 2 - kx]   (Conv2dInputGradFlipped; no flipped copy is written).
// Bindings: 0 w [COUT, CIN, 3, 3], or [CIN, COUT, 3, 3] with FLIP (float)  1 u [16, CIP, COP] (float)
// Specialization: 0 FLIP
// Push constants: count (= CIP * COP), cout, cin, cop, cip
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256; one invocation per (ci, co), writing its 16 elements
#include "kiln.glsl"
#include "elementwise.glsl"

layout(constant_id = 0) const int FLIP = 0;
layout(std430, binding = 0) readonly buffer Wt { float w[]; };
layout(std430, binding = 1) writeonly buffer U { float u[]; };
layout(push_constant) uniform P { uint count; int cout, cin, cop, cip; } p;

void main()
{
    const uint i = kiln_element_index();
    if (i >= p.count) return;
    const int co = int(i) % p.cop, ci = int(i) / p.cop;
    float g[3][3];
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
        {
            float v = 0.0;
            if (co < p.cout && ci < p.cin)
                v = FLIP != 0 ? w[(ci * p.cout + co) * 9 + (2 - ky) * 3 + 2 - kx] : w[(co * p.cin + ci) * 9 + ky * 3 + kx];
            g[ky][kx] = v;
        }
    // t = G g (4 x 3), then u = t G^T (4 x 4).
    float t[4][3];
    for (int kx = 0; kx < 3; kx++)
    {
        t[0][kx] = g[0][kx];
        t[1][kx] = 0.5 * (g[0][kx] + g[1][kx] + g[2][kx]);
        t[2][kx] = 0.5 * (g[0][kx] - g[1][kx] + g[2][kx]);
        t[3][kx] = g[2][kx];
    }
    const int stride = p.cip * p.cop;
    for (int r = 0; r < 4; r++)
    {
        const int at = r * 4 * stride + ci * p.cop + co;
        u[at] = t[r][0];
        u[at + stride] = 0.5 * (t[r][0] + t[r][1] + t[r][2]);
        u[at + 2 * stride] = 0.5 * (t[r][0] - t[r][1] + t[r][2]);
        u[at + 3 * stride] = t[r][2];
    }
}
