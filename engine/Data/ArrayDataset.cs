namespace Kiln.Data;

/// <summary>
/// Examples held in memory as flat float arrays (inputs and targets row-major, one example after another),
/// optionally labelled. Reads copy; the random number generator is not used.
/// </summary>
public sealed class ArrayDataset : IDataset
{
    readonly float[] inputs, targets;
    readonly int[]? labels;
    readonly int inputSize, targetSize;

    /// <summary>
    /// Wraps <paramref name="inputs"/> and <paramref name="targets"/> (not copied); <paramref name="labels"/>,
    /// when given, has one class in [0, <paramref name="classCount"/>) per example.
    /// </summary>
    public ArrayDataset(float[] inputs, Shape inputShape, float[] targets, Shape targetShape, int[]? labels = null, int classCount = 0)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        InputShape = inputShape ?? throw new ArgumentNullException(nameof(inputShape));
        TargetShape = targetShape ?? throw new ArgumentNullException(nameof(targetShape));
        inputSize = (int)inputShape.Elements;
        targetSize = (int)targetShape.Elements;
        if (inputs.Length % inputSize != 0)
            throw new ArgumentException($"{inputs.Length} input values are not a whole number of {inputShape} examples.", nameof(inputs));
        Count = inputs.Length / inputSize;
        if (targets.Length != (long)Count * targetSize)
            throw new ArgumentException($"{targets.Length} target values for {Count} examples of {targetShape}.", nameof(targets));
        if (labels != null)
        {
            if (labels.Length != Count) throw new ArgumentException($"{labels.Length} labels for {Count} examples.", nameof(labels));
            if (classCount <= 0) throw new ArgumentException("Labelled data needs a positive class count.", nameof(classCount));
            foreach (var l in labels)
                if (l < 0 || l >= classCount) throw new ArgumentException($"Label {l} is outside [0, {classCount}).", nameof(labels));
        }
        this.inputs = inputs;
        this.targets = targets;
        this.labels = labels;
        ClassCount = labels == null ? 0 : classCount;
    }

    public int Count { get; }
    public Shape InputShape { get; }
    public Shape TargetShape { get; }
    public int ClassCount { get; }

    public void Read(int index, Span<float> input, Span<float> target, Random random)
    {
        DatasetChecks.Read(this, index, input, target);
        inputs.AsSpan(index * inputSize, inputSize).CopyTo(input);
        targets.AsSpan(index * targetSize, targetSize).CopyTo(target);
    }

    public int Label(int index)
    {
        DatasetChecks.Index(this, index);
        return labels == null ? -1 : labels[index];
    }
}
