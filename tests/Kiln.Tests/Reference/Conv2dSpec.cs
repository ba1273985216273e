namespace Kiln.Tests.Reference;

/// <summary>
/// Shapes and attributes of a 2-D convolution as in torch.nn.Conv2d: x [N, C, H, W], weight [Cout, C/Groups, KH, KW].
/// Output size: OH = (H + 2 PH - DH (KH - 1) - 1) / SH + 1 (floor), likewise OW.
/// </summary>
public sealed record Conv2dSpec(int N, int C, int H, int W, int Cout, int KH, int KW,
    int SH = 1, int SW = 1, int PH = 0, int PW = 0, int DH = 1, int DW = 1, int Groups = 1)
{
    /// <summary>Output height.</summary>
    public int OH => (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
    /// <summary>Output width.</summary>
    public int OW => (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
    /// <summary>Input channels per group.</summary>
    public int CinPerGroup => C / Groups;
    /// <summary>Output channels per group.</summary>
    public int CoutPerGroup => Cout / Groups;
    /// <summary>Elements of x.</summary>
    public int XLength => N * C * H * W;
    /// <summary>Elements of weight.</summary>
    public int WeightLength => Cout * CinPerGroup * KH * KW;
    /// <summary>Elements of y.</summary>
    public int YLength => N * Cout * OH * OW;

    /// <summary>Throws unless the channels divide into groups and the output is non-empty.</summary>
    public void Validate()
    {
        if (Groups <= 0 || C % Groups != 0 || Cout % Groups != 0)
            throw new ArgumentException($"channels {C} -> {Cout} do not divide into {Groups} groups");
        if (SH <= 0 || SW <= 0 || DH <= 0 || DW <= 0 || PH < 0 || PW < 0)
            throw new ArgumentException("stride and dilation must be positive, padding non-negative");
        if (OH <= 0 || OW <= 0) throw new ArgumentException($"empty output {OH}x{OW}");
    }
}
