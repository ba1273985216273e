namespace Kiln.Embedding;

/// <summary>
/// How far an output pixel of an image-to-image network depends on input pixels, computed from its layers:
/// <see cref="Radius"/> input pixels on every side, and the <see cref="Alignment"/> (the largest downsampling
/// factor) that tile origins must be multiples of so that pooling windows fall where they do untiled. A tile
/// whose edges are at least Radius pixels from the pixels it keeps (or are image edges) gives exactly the
/// untiled network's values there.
/// <para>
/// Each node is tracked as a stride s (its pixels cover s x s input pixels) and a radius r (input pixels beyond
/// that block its value depends on); each layer says how it moves them (<see cref="Layer.ReceptiveStep"/>).
/// Convolutions add s * max(padding, (k-1)*dilation - padding - stride + 1); pools add s * (kernel - stride);
/// nearest upsampling adds the shrink of the block (s - s/scale), bilinear one more old pixel; pointwise layers
/// (activations, elementwise, concat, clip, dropout, batch norm) take the largest r of their inputs. Other layers
/// (linear, global pooling, reshape, align-corners upsampling, ...) make an output pixel depend on the whole
/// image, and are refused.
/// </para>
/// </summary>
/// <param name="Radius">Input pixels on each side an output pixel depends on.</param>
/// <param name="Alignment">Tile origins must be multiples of this.</param>
public readonly record struct ReceptiveField(int Radius, int Alignment)
{
    /// <summary>The receptive field of <paramref name="network"/>'s output <paramref name="output"/> with respect to its input "x".</summary>
    public static ReceptiveField Of(Network network, string output = "y")
    {
        ArgumentNullException.ThrowIfNull(network);
        var target = network.Outputs.FirstOrDefault(o => o.Name == output).Node
            ?? throw new ArgumentException($"The network has no output '{output}'.", nameof(output));
        var memo = new Dictionary<Node, (int S, int R)>();
        int alignment = 1;
        (int S, int R) Visit(Node n)
        {
            if (memo.TryGetValue(n, out var known)) return known;
            (int S, int R) result;
            if (n.IsInput) result = (1, 0);
            else
            {
                var ins = n.Inputs.Select(Visit).ToList();
                var (s, r) = (ins[0].S, ins.Max(i => i.R));
                if (ins.Any(i => i.S != s)) throw new NotSupportedException($"{n}: its inputs have different resolutions; tiling can't bound its receptive field.");
                result = Step(n, s, r);
            }
            alignment = Math.Max(alignment, result.S);
            return memo[n] = result;
        }
        var (finalS, radius) = Visit(target);
        if (finalS != 1) throw new NotSupportedException($"Output '{output}' has 1/{finalS} of the input's resolution; tiled inference needs an image-to-image network.");
        return new ReceptiveField(radius, alignment);
    }

    static (int S, int R) Step(Node n, int s, int r)
    {
        try
        {
            return n.Layer!.ReceptiveStep(s, r) ?? throw new NotSupportedException(
                $"{n}: tiled inference can't bound the receptive field of this layer (its output pixels may depend on the whole image).");
        }
        catch (NotSupportedException e) when (!e.Message.StartsWith(n.ToString(), StringComparison.Ordinal))
        {
            throw new NotSupportedException($"{n}: {e.Message}", e);
        }
    }
}
