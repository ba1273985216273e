namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.conv2d (cross-correlation, zero padding):
/// y[n, co, oy, ox] = bias[co] + sum over ci in co's group, ky, kx of
/// x[n, ci, oy*SH - PH + ky*DH, ox*SW - PW + kx*DW] * weight[co, ci - group*CinPerGroup, ky, kx].
/// </summary>
public static class RefConv2d
{
    /// <summary>x [N, C, H, W], weight [Cout, C/Groups, KH, KW], bias [Cout] or null → y [N, Cout, OH, OW].</summary>
    public static double[] Forward(Conv2dSpec s, double[] x, double[] weight, double[]? bias)
    {
        CheckArgs(s, x, weight);
        if (bias != null) Check.Length(bias, s.Cout, nameof(bias));
        var y = new double[s.YLength];
        for (int n = 0; n < s.N; n++)
            for (int co = 0; co < s.Cout; co++)
                for (int oy = 0; oy < s.OH; oy++)
                    for (int ox = 0; ox < s.OW; ox++)
                    {
                        double sum = bias?[co] ?? 0;
                        Visit(s, n, co, oy, ox, (xi, wi) => sum += x[xi] * weight[wi]);
                        y[YIndex(s, n, co, oy, ox)] = sum;
                    }
        return y;
    }

    /// <summary>
    /// Given dL/dy [N, Cout, OH, OW], the chain rule through every product of the forward sum:
    /// each x·w term sends gradY·w to x and gradY·x to w; the bias gets gradY summed over n, oy, ox.
    /// </summary>
    public static (double[] GradX, double[] GradWeight, double[] GradBias) Backward(
        Conv2dSpec s, double[] x, double[] weight, double[] gradY)
    {
        CheckArgs(s, x, weight);
        Check.Length(gradY, s.YLength, nameof(gradY));
        var gx = new double[s.XLength];
        var gw = new double[s.WeightLength];
        var gb = new double[s.Cout];
        for (int n = 0; n < s.N; n++)
            for (int co = 0; co < s.Cout; co++)
                for (int oy = 0; oy < s.OH; oy++)
                    for (int ox = 0; ox < s.OW; ox++)
                    {
                        double g = gradY[YIndex(s, n, co, oy, ox)];
                        gb[co] += g;
                        Visit(s, n, co, oy, ox, (xi, wi) =>
                        {
                            gx[xi] += g * weight[wi];
                            gw[wi] += g * x[xi];
                        });
                    }
        return (gx, gw, gb);
    }

    /// <summary>Calls <paramref name="term"/>(x index, weight index) for every in-bounds product of one output element.</summary>
    static void Visit(Conv2dSpec s, int n, int co, int oy, int ox, Action<int, int> term)
    {
        int group = co / s.CoutPerGroup;
        for (int cg = 0; cg < s.CinPerGroup; cg++)
        {
            int ci = group * s.CinPerGroup + cg;
            for (int ky = 0; ky < s.KH; ky++)
            {
                int iy = oy * s.SH - s.PH + ky * s.DH;
                if (iy < 0 || iy >= s.H) continue; // zero padding contributes nothing
                for (int kx = 0; kx < s.KW; kx++)
                {
                    int ix = ox * s.SW - s.PW + kx * s.DW;
                    if (ix < 0 || ix >= s.W) continue;
                    term(((n * s.C + ci) * s.H + iy) * s.W + ix, ((co * s.CinPerGroup + cg) * s.KH + ky) * s.KW + kx);
                }
            }
        }
    }

    static int YIndex(Conv2dSpec s, int n, int co, int oy, int ox) => ((n * s.Cout + co) * s.OH + oy) * s.OW + ox;

    static void CheckArgs(Conv2dSpec s, double[] x, double[] weight)
    {
        s.Validate();
        Check.Length(x, s.XLength, nameof(x));
        Check.Length(weight, s.WeightLength, nameof(weight));
    }
}
