namespace Kiln.Data;

/// <summary>
/// One split (train or test) of a data set: <see cref="Count"/> examples, each an input and a target of fixed
/// shapes, optionally with a class label. Readers fill caller-owned spans so a trainer can pack a batch straight
/// into its upload buffer.
/// </summary>
public interface IDataset
{
    /// <summary>Number of examples.</summary>
    int Count { get; }

    /// <summary>Shape of one example's input, without the batch dimension (e.g. [1, 28, 28] or [2]).</summary>
    Shape InputShape { get; }

    /// <summary>Shape of one example's target, without the batch dimension.</summary>
    Shape TargetShape { get; }

    /// <summary>Number of classes of <see cref="Label"/>, or 0 when the examples are unlabelled.</summary>
    int ClassCount { get; }

    /// <summary>
    /// Writes example <paramref name="index"/> into <paramref name="input"/> and <paramref name="target"/>
    /// (<see cref="InputShape"/> and <see cref="TargetShape"/> elements, row-major). Random augmentation and
    /// corruption draw only from <paramref name="random"/>, so the same seed gives the same data.
    /// </summary>
    void Read(int index, Span<float> input, Span<float> target, Random random);

    /// <summary>The class of example <paramref name="index"/>, or -1 when unlabelled.</summary>
    int Label(int index);

    /// <summary>
    /// The input channel that marks missing pixels (1 = missing) when the task is to fill them (inpainting), else
    /// null: evaluation then also reports PSNR over the missing pixels alone.
    /// </summary>
    int? MaskChannel => null;
}
