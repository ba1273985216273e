// Shared by the losses' backward kernels (loss/l1.bwd, mse.bwd, huber.bwd, masked.bwd; engine/Layers/Loss/LossKernels.cs):
// where the input whose gradient the kernel writes is the output of an activation fused into the layer before (a UNet's
// final sigmoid), that activation's gradient is taken here (engine/Layers/Conv/ActivationGradient.cs): each element
// leaves multiplied by the derivative at that input's own value, which the kernel reads anyway, so no pass of its own
// (elementwise/unary.bwd) reads the gradient back. The derivative is unary.bwd's (at f32 the same bits).
// Before including: LOSS_ACT_ID, the specialization constant of ACT (SLOPE is the next).
#ifndef KILN_LOSS_ACT_GLSL
#define KILN_LOSS_ACT_GLSL
layout(constant_id = LOSS_ACT_ID) const int ACT = 0;            // ACT_NONE: the gradient as it is
layout(constant_id = LOSS_ACT_ID + 1) const float SLOPE = 0.01;

// Gradient g of the input element whose value is own, through the activation's derivative.
float kiln_loss_act(float g, float own) { return ACT == ACT_NONE ? g : g * kiln_activation_derivative(own, ACT, SLOPE); }
#endif
