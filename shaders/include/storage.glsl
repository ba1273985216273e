// Element type of activation buffers (activations and their gradients) in a shader with an f16-storage variant.
// A shader that includes this file is built twice (shaders/Shaders.targets): as itself, and as "<module>.f16" with
// KILN_F16_STORAGE, which the compiler picks where the network stores activations as f16 (CompileOptions.Precision
// Fp16). Declare activation buffers with act_t (act4_t for vec4 access), read them through float(...) / vec4(...)
// and write them through act_t(...) / act4_t(...): arithmetic stays f32. Parameters, parameter gradients, losses and
// statistics stay float in both builds; Emitter.Dispatch checks each binding's element type against its value's.
#ifndef KILN_STORAGE_GLSL
#define KILN_STORAGE_GLSL
#ifdef KILN_F16_STORAGE
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define act_t float16_t
#define act2_t f16vec2
#define act4_t f16vec4
#else
#define act_t float
#define act2_t vec2
#define act4_t vec4
#endif

// Layout of 4-D activation buffers: NCHW, or NHWC (channels contiguous) in a shader's ".nhwc" variant (KILN_NHWC,
// shaders/Variants.props; CompileOptions.ActivationLayout). The element of image b, channel c, row y, column x of a
// C-channel, H x W tensor; every index is a logical [N, C, H, W] coordinate whatever the layout.
#if KILN_NHWC
#define KILN_ACT_INDEX(b, c, y, x, C, H, W) ((((b) * (H) + (y)) * (W) + (x)) * (C) + (c))
#else
#define KILN_ACT_INDEX(b, c, y, x, C, H, W) ((((b) * (C) + (c)) * (H) + (y)) * (W) + (x))
#endif
#endif
