namespace Kiln.Tests.Reference;

/// <summary>torch.permute in double: output dimension k is input dimension perm[k]; the backward scatters each output gradient back to the element it copied.</summary>
public static class RefTranspose
{
    public static int[] Shape(int[] x, int[] perm) => perm.Select(p => x[p]).ToArray();

    public static double[] Forward(double[] x, int[] shape, int[] perm)
    {
        var y = new double[x.Length];
        ForEach(shape, perm, (ix, iy) => y[iy] = x[ix]);
        return y;
    }

    public static double[] Backward(double[] gradY, int[] shape, int[] perm)
    {
        var gx = new double[gradY.Length];
        ForEach(shape, perm, (ix, iy) => gx[ix] += gradY[iy]);
        return gx;
    }

    /// <summary>Calls pair(input index, output index) for every element, walking the input in row-major order.</summary>
    static void ForEach(int[] shape, int[] perm, Action<int, int> pair)
    {
        var yShape = Shape(shape, perm);
        int count = RefBroadcast.Count(shape);
        var coord = new int[shape.Length];
        for (int ix = 0; ix < count; ix++)
        {
            for (int k = shape.Length - 1, rem = ix; k >= 0; k--) { coord[k] = rem % shape[k]; rem /= shape[k]; }
            int iy = 0;
            for (int k = 0; k < perm.Length; k++) iy = iy * yShape[k] + coord[perm[k]];
            pair(ix, iy);
        }
    }
}
