// Shared by Linear's products (shaders/linear/*.comp) and a split product's finish (shaders/reduce/partials.comp): the
// value stored at output element i from its sum v (bias added). By default the activation ACT (slope SLOPE) applied.
// The ".dact" variants (KILN_ACT_GRAD, shaders/Variants.props; engine/Layers/Linear/LinearProducts.cs) compute an
// input gradient dX instead, the gradient of the output y of the layer before, whose activation ACT is fused into that
// layer (a Linear's, or a convolution's seen through a Flatten): the sum leaves multiplied by the derivative of ACT
// taken from y (include/act_grad_epilogue.glsl, bound after the module's other buffers, laid out as the output), so no
// elementwise/unary.bwd pass reads dX back.
#ifndef KILN_PRODUCT_EPILOGUE_GLSL
#define KILN_PRODUCT_EPILOGUE_GLSL
#if KILN_ACT_GRAD
#include "act_grad_epilogue.glsl"
#define kiln_product_out(v, i) kiln_act_grad(v, i, ACT, SLOPE)
#else
#define kiln_product_out(v, i) kiln_activate(v, ACT, SLOPE)
#endif
#endif
