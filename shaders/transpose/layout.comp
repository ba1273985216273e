#version 450
// A 4-D activation between NCHW and NHWC (CompileOptions.ActivationLayout, engine/Graph/ActivationLayouts.cs): one
// invocation per element of y, taken in y's order, so the writes are coalesced. TO_NHWC 1 reads an NCHW x and writes an
// NHWC y; 0 does the reverse. Variants that convert the element type on the way, so a network's edge is one pass:
// .to_storage (x f32, y act_t: an f32 input entering f16 NHWC activations) and .from_storage (x act_t, y f32: an NHWC
// output leaving as f32 NCHW).
// Bindings: 0 x, 1 y.  Specialization: 0 TO_NHWC.  Push: count, c (channels), hw (H * W).
// Dispatch: Emitter.ElementwiseGroups(count), local x = 256.
#include "kiln.glsl"
#include "elementwise.glsl"
#include "storage.glsl"
#if KILN_TO_STORAGE
#define x_t float
#else
#define x_t act_t
#endif
#if KILN_FROM_STORAGE
#define y_t float
#else
#define y_t act_t
#endif
layout(constant_id = 0) const int TO_NHWC = 1;
layout(std430, binding = 0) readonly buffer X { x_t x[]; };
layout(std430, binding = 1) writeonly buffer Y { y_t y[]; };
layout(push_constant) uniform P { uint count, c, hw; } p;
void main()
{
    uint i = kiln_element_index();
    if (i >= p.count) return;
    uint src;
    if (TO_NHWC != 0)
    {
        // y[b, pixel, ch] = x[b, ch, pixel]
        uint ch = i % p.c, px = i / p.c, b = px / p.hw;
        src = (b * p.c + ch) * p.hw + (px - b * p.hw);
    }
    else
    {
        // y[b, ch, pixel] = x[b, pixel, ch]
        uint pixel = i % p.hw, bc = i / p.hw, b = bc / p.c;
        src = (b * p.hw + pixel) * p.c + (bc - b * p.c);
    }
    y[i] = y_t(x[src]);
}
