using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// Two stride-1 <see cref="Conv2d"/> layers, the second the only reader of the first's output, computed band of output
/// rows by band so that the first's full-size output never exists: what the compiler's banding pass makes of such a pair
/// in an inference plan where that output is large (<see cref="CompileOptions.RowBands"/>), as the denoiser's last two
/// full-resolution convolutions. Per band of <see cref="BandRows"/> output rows: the rows of the input it needs (the band
/// and a halo of both layers' padding on each side, the window shifted inward at the image's edges so that every window
/// has the same L rows) are copied into a scratch [N, C, L, W] (concat.copy), both convolutions run on it with their
/// usual kernels and padding (rows near a window edge that is not the image's come out wrong and are never used), and
/// the band's rows of the second's output are copied into the output. The three scratch values are the same for every
/// band, so the bands run one after another in the memory of one. Both layers keep "same" padding along the rows
/// (2 P = D (K - 1)); any width, kernel, dilation and groups. The result is the unbanded plan's wherever the kernels
/// chosen for the bands' shapes are those chosen for the full shapes (the same sums per pixel). Inference only.
/// </summary>
internal sealed class RowBandedConvs : Layer
{
    readonly Conv2d first, second;
    readonly string firstName, secondName;
    readonly Activation firstActivation;
    readonly float firstSlope;

    /// <param name="first">The first convolution.</param>
    /// <param name="firstName">Its node: its parameters keep the node's name.</param>
    /// <param name="firstActivation">The activation folded into it.</param>
    /// <param name="firstSlope">That activation's slope (LeakyReLU).</param>
    /// <param name="second">The second convolution (its folded activation comes with the node it replaces).</param>
    /// <param name="secondName">Its node.</param>
    /// <param name="bandRows">Output rows per band.</param>
    public RowBandedConvs(Conv2d first, string firstName, Activation firstActivation, float firstSlope, Conv2d second, string secondName, int bandRows)
    {
        if (!Bandable(first.Attributes) || !Bandable(second.Attributes))
            throw new ArgumentException("row_banded_convs: stride-1 convolutions with 'same' padding along the rows.");
        if (bandRows < 1) throw new ArgumentOutOfRangeException(nameof(bandRows), bandRows, "at least one row per band");
        (this.first, this.firstName, this.firstActivation, this.firstSlope) = (first, firstName, firstActivation, firstSlope);
        (this.second, this.secondName, BandRows) = (second, secondName, bandRows);
    }

    /// <summary>Output rows per band.</summary>
    public int BandRows { get; }

    /// <summary>Rows of context a band needs on each side: both layers' padding along the rows.</summary>
    public int Halo => first.Attributes.Padding.H + second.Attributes.Padding.H;

    /// <summary>Whether a convolution can be part of a banded pair: stride 1, and "same" padding along the rows (the output has the input's rows).</summary>
    internal static bool Bandable(ConvAttributes a) => a.Stride == (1, 1) && 2 * a.Padding.H == a.Dilation.H * (a.Kernel.H - 1);

    /// <summary>The rows of each band's input window: the band with its halo, or all the rows where that is no fewer.</summary>
    internal static int WindowRows(int rows, int bandRows, int halo) => Math.Min(rows, bandRows + 2 * halo);

    public override string Kind => "row_banded_convs";

    public override IReadOnlyList<ParameterSpec> Parameters =>
        first.Parameters.Select(p => p with { Name = $"{firstName}.{p.Name}" })
            .Concat(second.Parameters.Select(p => p with { Name = $"{secondName}.{p.Name}" })).ToList();

    public override Shape OutputShape(IReadOnlyList<Shape> inputs) => second.OutputShape(new[] { first.OutputShape(inputs) });

    internal override void Forward(ForwardPass f)
    {
        var e = f.Emitter;
        var (a, b) = (first.Attributes, second.Attributes);
        var x = f.Input;
        int rows = x.Shape[2], window = WindowRows(rows, BandRows, Halo);
        var type = f.Output.ElementType;
        var xBand = e.NewValue(new Shape(x.Shape[0], x.Shape[1], window, x.Shape[3]), ValueKind.Transient, $"{f.Name}.input_band", type, x.Layout);
        var aBand = e.NewValue(first.OutputShape(new[] { xBand.Shape }), ValueKind.Transient, $"{firstName}.band", type, x.Layout);
        var bBand = e.NewValue(second.OutputShape(new[] { aBand.Shape }), ValueKind.Transient, $"{f.Name}.band", type, x.Layout);
        var (w1, b1) = (f.Param($"{firstName}.weight"), a.Bias ? f.Param($"{firstName}.bias") : null);
        var (w2, b2) = (f.Param($"{secondName}.weight"), b.Bias ? f.Param($"{secondName}.bias") : null);
        for (int r0 = 0, band = 0; r0 < rows; r0 += BandRows, band++)
        {
            int r1 = Math.Min(rows, r0 + BandRows), lo = Math.Clamp(r0 - Halo, 0, rows - window);
            string label = $"{f.Name}.band{band}";
            ConcatKernels.CopyRows(e, x, lo, xBand, 0, window, $"{label}.in");
            ConvForward.Emit(e, a, xBand, w1, b1, aBand, firstActivation, firstSlope, $"{firstName}.band{band}.fwd");
            ConvForward.Emit(e, b, aBand, w2, b2, bBand, f.Activation, f.Slope, $"{f.Name}.band{band}.fwd");
            ConcatKernels.CopyRows(e, bBand, r0 - lo, f.Output, r0, r1 - r0, $"{label}.out");
        }
    }

    internal override bool ForwardsNhwc(IReadOnlyList<Shape> inputs) => true;

    internal override void Backward(BackwardPass b) =>
        throw new GraphException($"{b.Name}: convolutions computed in row bands are compiled into inference plans only.");
}
