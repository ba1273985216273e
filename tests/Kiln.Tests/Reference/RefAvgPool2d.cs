namespace Kiln.Tests.Reference;

/// <summary>torch.nn.functional.avg_pool2d with padding 0: y = mean over each KH×KW window.</summary>
public static class RefAvgPool2d
{
    /// <summary>x [N, C, H, W] → y [N, C, OH, OW].</summary>
    public static double[] Forward(Pool2dSpec s, double[] x)
    {
        CheckArgs(s, x);
        var y = new double[s.YLength];
        for (int plane = 0; plane < s.N * s.C; plane++)
            for (int oy = 0; oy < s.OH; oy++)
                for (int ox = 0; ox < s.OW; ox++)
                {
                    double sum = 0;
                    for (int ky = 0; ky < s.KH; ky++)
                        for (int kx = 0; kx < s.KW; kx++)
                            sum += x[s.XIndex(plane, oy * s.SH + ky, ox * s.SW + kx)];
                    y[s.YIndex(plane, oy, ox)] = sum / (s.KH * s.KW);
                }
        return y;
    }

    /// <summary>Given dL/dy: each window element receives gradY / (KH*KW); overlapping windows accumulate.</summary>
    public static double[] Backward(Pool2dSpec s, double[] gradY)
    {
        s.Validate();
        Check.Length(gradY, s.YLength, nameof(gradY));
        var gx = new double[s.XLength];
        for (int plane = 0; plane < s.N * s.C; plane++)
            for (int oy = 0; oy < s.OH; oy++)
                for (int ox = 0; ox < s.OW; ox++)
                {
                    double share = gradY[s.YIndex(plane, oy, ox)] / (s.KH * s.KW);
                    for (int ky = 0; ky < s.KH; ky++)
                        for (int kx = 0; kx < s.KW; kx++)
                            gx[s.XIndex(plane, oy * s.SH + ky, ox * s.SW + kx)] += share;
                }
        return gx;
    }

    static void CheckArgs(Pool2dSpec s, double[] x)
    {
        s.Validate();
        Check.Length(x, s.XLength, nameof(x));
    }
}
