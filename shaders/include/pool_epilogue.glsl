// Shared by the convolution forward kernels' ".pool" variants (KILN_POOL, shaders/Variants.props;
// engine/Layers/ConvPool2d.cs, inference plans): the 2 x 2, stride-2 max pool that follows the convolution (and its
// activation) is taken in the kernel's epilogue, so only the pooled output is written (binding 3, [N, Cout, OH/2, OW/2];
// OH and OW are even, as the pool requires). The rule is pool.fwd.comp's: the largest value, NaN propagating; rounding
// to f16 after the max gives the bits of rounding before it, so the result is the unfused layers' exactly.
// The ".pool.keep" variants (KILN_POOL_KEEP; ConvForward.EmitWithPool: a convolution whose output other layers or a
// gradient read too, as a UNet encoder's skip) write the unpooled output as well, at binding 4 (kept, laid out as the
// convolution's output), the values the plain kernel writes.
#ifndef KILN_POOL_EPILOGUE_GLSL
#define KILN_POOL_EPILOGUE_GLSL
float kiln_pool_max(float best, float v) { return v > best || isnan(v) ? v : best; }
#if KILN_POOL_KEEP
layout(std430, binding = 4) writeonly buffer Kept { act_t kept[]; };
#endif
#endif
