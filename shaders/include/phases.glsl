// Shared by the kernels that compute a strided convolution's input gradient (or a transposed convolution) by output
// phase in one dispatch (the .phases variants of conv2d.fwd_gemm.comp and, through phase_grid.glsl,
// conv2d.fwd_coopmat_patch.comp and conv2d.fwd_coopmat2.comp, and the PHASES forms of the weight passes they read,
// conv2d.flip_weight.comp and conv2d.pack_weight_f16.comp; the host's PhasedInputGrad.Phases is the same arithmetic).
// Along one axis of the layer (stride s, dilation d, padding pad, kernel k, dX size size), with g = gcd(d, s), the
// pixels x = s q + r of phase r receive the taps k0 + m s/g, m < n, from dY at q + c - m d/g: a stride-1 convolution of
// dY of dilation d/g and padding (n - 1) d/g - c with those taps turned.
#ifndef KILN_PHASES_GLSL
#define KILN_PHASES_GLSL
struct KilnPhaseAxis
{
    int k0;       // the first tap (0 where none)
    int n;        // taps (0: the phase is act(bias), or zero)
    int step;     // the taps' step in the weight, s / g
    int dil;      // the phase convolution's dilation, d / g
    int pad;      // its padding, (n - 1) dil - c (may be negative)
    int q;        // the phase's pixels along the axis
};

KilnPhaseAxis kiln_phase_axis(int r, int s, int d, int pad, int k, int size)
{
    int a = d, b = s;
    while (b != 0) { const int t = a % b; a = b; b = t; }
    KilnPhaseAxis x;
    x.step = s / a;
    x.dil = d / a;
    x.q = size > r ? (size - r + s - 1) / s : 0;
    x.k0 = -1;
    // The least t < s/g with t d = r + pad (mod s); the left side kept positive for %.
    for (int t = 0; t < x.step; t++)
        if (x.k0 < 0 && (t * d - r - pad + s * (r + pad + 1)) % s == 0) x.k0 = t;
    if (x.k0 < 0 || x.k0 >= k)
    {
        x.k0 = 0;
        x.n = 0;
        x.pad = 0;
        return x;
    }
    x.n = (k - x.k0 + x.step - 1) / x.step;
    x.pad = (x.n - 1) * x.dil - (r + pad - x.k0 * d) / s;
    return x;
}
#endif
