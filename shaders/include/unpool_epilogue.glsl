// Shared by the convolution forward kernels' ".unpool" variants (KILN_UNPOOL, shaders/Variants.props;
// engine/Layers/Conv/PoolGradient.cs, training plans). Such a kernel computes the input gradient dP of a convolution
// whose input P is the 2 x 2, stride-2 max pool of X (X's height and width even, P's the kernel's output grid OH x OW),
// and writes the pool's gradient dX in P's place: each element g of dP goes to the first maximum of its window of X
// (binding 4, the pool's input [N, C, 2 OH, 2 OW], scanned as pool.bwd.comp scans it: row by row, a NaN taking the
// place), and 0 to the window's other three elements. With an activation (ACT, SLOPE: the layer before fused it, and X is
// its output) dX leaves as the gradient before it, (dX + addend) * ACT'(X), the addend (binding 5, read where UNPOOL_SUM
// is 1) being the gradient X's other reader gave (a UNet encoder's skip). g is rounded to act_t first, as dP's storage
// rounds it, so dX is the unfused pair's (the kernel writing dP, then pool.bwd) bit for bit. The kernel's binding 3 (y)
// is dX, laid out as X.
#ifndef KILN_UNPOOL_EPILOGUE_GLSL
#define KILN_UNPOOL_EPILOGUE_GLSL
layout(std430, binding = 4) readonly buffer PoolInput { act_t poolInput[]; };
layout(std430, binding = 5) readonly buffer PoolAddend { act_t poolAddend[]; };
layout(constant_id = 40) const int UNPOOL_SUM = 0;

// Element (b, c, oy, ox) of dP, g, as the four elements of its window in dX (P has C channels and OH x OW pixels).
void kiln_unpool_store(float g, int b, int c, int oy, int ox, int C, int OH, int OW, int act, float slope)
{
    g = float(act_t(g));
    int at[4];
    float v[4];
    float best = -1.0 / 0.0;
    int arg = 0;
    for (int k = 0; k < 4; k++)
    {
        at[k] = KILN_ACT_INDEX(b, c, 2 * oy + k / 2, 2 * ox + (k & 1), C, 2 * OH, 2 * OW);
        v[k] = float(poolInput[at[k]]);
        if (v[k] > best || isnan(v[k])) { best = v[k]; arg = k; }
    }
    for (int k = 0; k < 4; k++)
    {
        float d = k == arg ? g : 0.0;
        if (act != ACT_NONE) d = (UNPOOL_SUM != 0 ? d + float(poolAddend[at[k]]) : d) * kiln_activation_derivative(v[k], act, slope);
        y[at[k]] = act_t(d);
    }
}
#endif
