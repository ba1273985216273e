namespace Kiln.Tests.Reference;

/// <summary>
/// torch.nn.functional.max_pool2d with padding 0: y = max over each window. Like PyTorch, the window is scanned row by
/// row and only a strictly larger value replaces the current maximum, so on ties the first one in scan order wins and
/// receives the whole gradient.
/// </summary>
public static class RefMaxPool2d
{
    /// <summary>x [N, C, H, W] → y [N, C, OH, OW].</summary>
    public static double[] Forward(Pool2dSpec s, double[] x)
    {
        CheckArgs(s, x);
        var y = new double[s.YLength];
        ForEachWindow(s, (plane, oy, ox) => y[s.YIndex(plane, oy, ox)] = x[ArgMax(s, x, plane, oy, ox)]);
        return y;
    }

    /// <summary>Given dL/dy: each window's gradient goes to its (first) maximum; overlapping windows accumulate.</summary>
    public static double[] Backward(Pool2dSpec s, double[] x, double[] gradY)
    {
        CheckArgs(s, x);
        Check.Length(gradY, s.YLength, nameof(gradY));
        var gx = new double[s.XLength];
        ForEachWindow(s, (plane, oy, ox) => gx[ArgMax(s, x, plane, oy, ox)] += gradY[s.YIndex(plane, oy, ox)]);
        return gx;
    }

    /// <summary>Flat x index of the first maximum of one window.</summary>
    static int ArgMax(Pool2dSpec s, double[] x, int plane, int oy, int ox)
    {
        int best = s.XIndex(plane, oy * s.SH, ox * s.SW);
        for (int ky = 0; ky < s.KH; ky++)
            for (int kx = 0; kx < s.KW; kx++)
            {
                int i = s.XIndex(plane, oy * s.SH + ky, ox * s.SW + kx);
                if (x[i] > x[best]) best = i;
            }
        return best;
    }

    static void ForEachWindow(Pool2dSpec s, Action<int, int, int> body)
    {
        for (int plane = 0; plane < s.N * s.C; plane++)
            for (int oy = 0; oy < s.OH; oy++)
                for (int ox = 0; ox < s.OW; ox++)
                    body(plane, oy, ox);
    }

    static void CheckArgs(Pool2dSpec s, double[] x)
    {
        s.Validate();
        Check.Length(x, s.XLength, nameof(x));
    }
}
