namespace Kiln;

/// <summary>What <see cref="Pad"/> writes outside the input.</summary>
public enum PadMode
{
    /// <summary>Zeros (F.pad mode "constant" with value 0).</summary>
    Zero = 0,
    /// <summary>The nearest edge pixel (F.pad mode "replicate").</summary>
    Replicate = 1,
}
