// Shared by every Kiln compute shader.
// Workgroup size: specialization constants 100, 101, 102 (KernelSpec.LocalX/Y/Z), chosen per device.
// Shape constants follow ncnn's pattern: a specialization constant of 0 means "not baked"; the value then
// comes from the push constants, so a new image size does not need a new pipeline.
#ifndef KILN_GLSL
#define KILN_GLSL

layout(local_size_x_id = 100, local_size_y_id = 101, local_size_z_id = 102) in;

#define BAKED(spec, push) ((spec) != 0 ? (spec) : (push))

// Activation codes shared with Kiln.Activation in C#.
#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_LEAKY_RELU 2
#define ACT_SIGMOID 3
#define ACT_TANH 4

float kiln_activate(float x, int act, float slope)
{
    if (act == ACT_RELU) return max(x, 0.0);
    if (act == ACT_LEAKY_RELU) return x >= 0.0 ? x : x * slope;
    if (act == ACT_SIGMOID) return 1.0 / (1.0 + exp(-x));
    if (act == ACT_TANH) return tanh(x);
    return x;
}

// The activation's derivative taken from its OUTPUT y (exact for ReLU, LeakyReLU with slope > 0, sigmoid: y (1 - y),
// tanh: 1 - y^2), so a fused conv and activation need not keep the values before it: elementwise/unary.bwd.comp and the
// convolutions' .dact epilogue (include/act_grad_epilogue.glsl).
float kiln_activation_derivative(float y, int act, float slope)
{
    if (act == ACT_RELU) return y > 0.0 ? 1.0 : 0.0;
    if (act == ACT_LEAKY_RELU) return y > 0.0 ? 1.0 : slope;
    if (act == ACT_SIGMOID) return y * (1.0 - y);
    if (act == ACT_TANH) return 1.0 - y * y;
    return 1.0;
}

#endif
