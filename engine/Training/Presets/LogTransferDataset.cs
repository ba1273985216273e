using Kiln.Data;

namespace Kiln.Training.Presets;

/// <summary>
/// Denoising examples as the denoising demo feeds its network: the inner dataset's linear HDR colour (input channels
/// 0..2) and its whole target through the log transfer log(1 + max(c, 0)) (shaders/realtime/denoise_input.comp and
/// log_transfer.comp do the same on the GPU); the guides (albedo, normal) pass as they are.
/// </summary>
internal sealed class LogTransferDataset : IDataset
{
    readonly IDataset inner;

    public LogTransferDataset(IDataset inner)
    {
        if (inner.InputShape.Rank != 3 || inner.InputShape[0] < 3) throw new ArgumentException($"The input {inner.InputShape} has no 3 colour channels first.", nameof(inner));
        this.inner = inner;
    }

    public int Count => inner.Count;
    public Shape InputShape => inner.InputShape;
    public Shape TargetShape => inner.TargetShape;
    public int ClassCount => inner.ClassCount;
    public int Label(int index) => inner.Label(index);

    public void Read(int index, Span<float> input, Span<float> target, Random random)
    {
        inner.Read(index, input, target, random);
        int colour = 3 * InputShape[1] * InputShape[2];
        Transfer(input[..colour]);
        Transfer(target);
    }

    static void Transfer(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++) values[i] = MathF.Log(1 + MathF.Max(values[i], 0));
    }
}
