// Shared by the convolution forward kernels' ".dact" variants (KILN_ACT_GRAD, shaders/Variants.props;
// engine/Layers/Conv/ActivationGradient.cs, training plans). Such a kernel computes a layer's input gradient dX, the
// gradient of the output y of the layer before, whose activation ACT (slope SLOPE) is fused into that layer's kernel:
// each output element leaves multiplied by the activation's derivative, taken from y (binding 4, laid out as the
// output), so the kernel writes the gradient before the activation, dZ = dX * act'(y), and no pass of its own reads dX
// back. The derivative and the product are elementwise/unary.bwd.comp's (at f32 the same bits). A module whose buffers
// end before binding 4 (reduce/partials.comp) names the binding after its last in KILN_ACT_GRAD_BINDING.
#ifndef KILN_ACT_GRAD_EPILOGUE_GLSL
#define KILN_ACT_GRAD_EPILOGUE_GLSL
#ifndef KILN_ACT_GRAD_BINDING
#define KILN_ACT_GRAD_BINDING 4
#endif
layout(std430, binding = KILN_ACT_GRAD_BINDING) readonly buffer ActOut { act_t actOut[]; };

// The epilogue's value for output element i from the sum v the kernel computed.
float kiln_act_grad(float v, int i, int act, float slope) { return v * kiln_activation_derivative(float(actOut[i]), act, slope); }
#endif
