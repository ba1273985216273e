// The bias gradient's binding of the weight-gradient kernels' ".bias" variants (KILN_BIAS_SUM; shaders/Variants.props,
// engine/Layers/Conv/ConvWeightGrad.cs SummingBias): db [C1], or a split's partials [splits, C1] (float), bound after the
// kernel's own buffers: binding 3, or 4 in the .concat form, whose binding 3 is the concatenation's second part.
#ifndef KILN_BIAS_SUM_GLSL
#define KILN_BIAS_SUM_GLSL
#if KILN_CONCAT_READS
layout(std430, binding = 4) writeonly buffer DB { float db[]; };
#else
layout(std430, binding = 3) writeonly buffer DB { float db[]; };
#endif
#endif
