namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.conv_transpose2d by scatter: every input element x[n, ci, iy, ix] adds
/// x * weight[ci, co - group*CoutPerGroup, ky, kx] to y[n, co, iy*SH - PH + ky*DH, ix*SW - PW + kx*DW] for each co in
/// ci's group, dropping targets outside the output (that is what padding crops); then bias[co] is added everywhere.
/// </summary>
public static class RefConvTranspose2d
{
    /// <summary>x [N, Cin, H, W], weight [Cin, Cout/Groups, KH, KW], bias [Cout] or null → y [N, Cout, OH, OW].</summary>
    public static double[] Forward(ConvTranspose2dSpec s, double[] x, double[] weight, double[]? bias)
    {
        CheckArgs(s, x, weight);
        if (bias != null) Check.Length(bias, s.Cout, nameof(bias));
        var y = new double[s.YLength];
        if (bias != null)
            for (int i = 0; i < y.Length; i++) y[i] = bias[i / (s.OH * s.OW) % s.Cout];
        Visit(s, (xi, wi, yi) => y[yi] += x[xi] * weight[wi]);
        return y;
    }

    /// <summary>
    /// Given dL/dy [N, Cout, OH, OW]: each scattered product x·w sends gradY·w to x and gradY·x to w;
    /// the bias gets gradY summed over n, oy, ox.
    /// </summary>
    public static (double[] GradX, double[] GradWeight, double[] GradBias) Backward(
        ConvTranspose2dSpec s, double[] x, double[] weight, double[] gradY)
    {
        CheckArgs(s, x, weight);
        Check.Length(gradY, s.YLength, nameof(gradY));
        var gx = new double[s.XLength];
        var gw = new double[s.WeightLength];
        var gb = new double[s.Cout];
        for (int i = 0; i < gradY.Length; i++) gb[i / (s.OH * s.OW) % s.Cout] += gradY[i];
        Visit(s, (xi, wi, yi) =>
        {
            gx[xi] += gradY[yi] * weight[wi];
            gw[wi] += gradY[yi] * x[xi];
        });
        return (gx, gw, gb);
    }

    /// <summary>Calls <paramref name="term"/>(x index, weight index, y index) for every product that lands inside y.</summary>
    static void Visit(ConvTranspose2dSpec s, Action<int, int, int> term)
    {
        for (int n = 0; n < s.N; n++)
            for (int ci = 0; ci < s.Cin; ci++)
            {
                int group = ci / s.CinPerGroup;
                for (int iy = 0; iy < s.H; iy++)
                    for (int ix = 0; ix < s.W; ix++)
                        for (int cg = 0; cg < s.CoutPerGroup; cg++)
                        {
                            int co = group * s.CoutPerGroup + cg;
                            for (int ky = 0; ky < s.KH; ky++)
                            {
                                int oy = iy * s.SH - s.PH + ky * s.DH;
                                if (oy < 0 || oy >= s.OH) continue;
                                for (int kx = 0; kx < s.KW; kx++)
                                {
                                    int ox = ix * s.SW - s.PW + kx * s.DW;
                                    if (ox < 0 || ox >= s.OW) continue;
                                    term(((n * s.Cin + ci) * s.H + iy) * s.W + ix,
                                        ((ci * s.CoutPerGroup + cg) * s.KH + ky) * s.KW + kx,
                                        ((n * s.Cout + co) * s.OH + oy) * s.OW + ox);
                                }
                            }
                        }
            }
    }

    static void CheckArgs(ConvTranspose2dSpec s, double[] x, double[] weight)
    {
        s.Validate();
        Check.Length(x, s.XLength, nameof(x));
        Check.Length(weight, s.WeightLength, nameof(weight));
    }
}
