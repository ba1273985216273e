// Exact GELU helpers shared by gelu.fwd and gelu.bwd: gelu(x) = x * Phi(x), Phi(x) = erfc(-x / sqrt(2)) / 2.
// erfc by Numerical Recipes' Chebyshev fit (fractional error < 1.2e-7 for every argument), so Phi keeps its
// relative accuracy in the far negative tail where 1 + erf(x) would cancel.
#ifndef KILN_GELU_GLSL
#define KILN_GELU_GLSL
float gelu_erfc(float z)
{
    const float t = 1.0 / (1.0 + 0.5 * abs(z));
    const float r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
        t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return z >= 0.0 ? r : 2.0 - r;
}
float gelu_cdf(float x) { return 0.5 * gelu_erfc(-0.70710678118654752 * x); }
float gelu_pdf(float x) { return 0.39894228040143268 * exp(-0.5 * x * x); }
#endif
