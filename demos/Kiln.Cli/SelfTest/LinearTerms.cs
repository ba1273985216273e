namespace Kiln.Cli.SelfTest;

/// <summary>
/// A naive CPU reference for every operation that is linear in its input (and in its weight): the operation
/// is written once as the list of its terms y[o] += coef * x[i] * w[k] (k &lt; 0: no weight), and the forward
/// and both gradients come from that one list: gx[i] += coef * gy[o] * w[k], gw[k] += coef * gy[o] * x[i].
/// Convolutions, transposed convolutions, linear layers, average pooling and upsampling are such operations;
/// writing each once keeps forward and backward references from disagreeing with each other.
/// </summary>
internal static class LinearTerms
{
    /// <summary>Calls its argument with (o, i, k, coef) for every term.</summary>
    public delegate void Enumerate(Action<long, long, long, double> term);

    /// <param name="yLength">Output elements.</param>
    /// <param name="terms">The operation's terms.</param>
    /// <param name="biasChannel">For a layer with bias: the bias index of each output element.</param>
    public static ReferenceFunction Reference(long yLength, Enumerate terms, Func<long, long>? biasChannel = null) => (x, w, b, gy) =>
    {
        var y = new double[yLength];
        var gx = new double[x.Length];
        var gw = w == null ? null : new double[w.Length];
        terms((o, i, k, coef) =>
        {
            double wk = k >= 0 ? w![k] : 1;
            y[o] += coef * x[i] * wk;
            gx[i] += coef * gy[o] * wk;
            if (k >= 0) gw![k] += coef * gy[o] * x[i];
        });
        double[]? gb = null;
        if (b != null && biasChannel != null)
        {
            gb = new double[b.Length];
            for (long o = 0; o < yLength; o++)
            {
                y[o] += b[biasChannel(o)];
                gb[biasChannel(o)] += gy[o];
            }
        }
        return new ReferenceResult(y, gx, gw, gb);
    };
}
