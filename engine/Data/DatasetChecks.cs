namespace Kiln.Data;

/// <summary>Argument checks shared by the data sets' Read and Label.</summary>
static class DatasetChecks
{
    public static void Index(IDataset data, int index)
    {
        if ((uint)index >= (uint)data.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Example index outside [0, {data.Count}).");
    }

    public static void Read(IDataset data, int index, Span<float> input, Span<float> target)
    {
        Index(data, index);
        if (input.Length < data.InputShape.Elements)
            throw new ArgumentException($"Input span of {input.Length} values is smaller than one {data.InputShape} example.", nameof(input));
        if (target.Length < data.TargetShape.Elements)
            throw new ArgumentException($"Target span of {target.Length} values is smaller than one {data.TargetShape} example.", nameof(target));
    }
}
