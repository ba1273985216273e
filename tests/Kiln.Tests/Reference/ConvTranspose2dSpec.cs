namespace Kiln.Tests.Reference;

/// <summary>
/// Shapes and attributes of a transposed convolution as in torch.nn.ConvTranspose2d: x [N, Cin, H, W],
/// weight [Cin, Cout/Groups, KH, KW]. Output size: OH = (H - 1) SH - 2 PH + DH (KH - 1) + OPH + 1, likewise OW
/// (with dilation 1: (H - 1) SH - 2 PH + KH + OPH).
/// </summary>
public sealed record ConvTranspose2dSpec(int N, int Cin, int H, int W, int Cout, int KH, int KW,
    int SH = 1, int SW = 1, int PH = 0, int PW = 0, int OPH = 0, int OPW = 0, int DH = 1, int DW = 1, int Groups = 1)
{
    /// <summary>Output height.</summary>
    public int OH => (H - 1) * SH - 2 * PH + DH * (KH - 1) + OPH + 1;
    /// <summary>Output width.</summary>
    public int OW => (W - 1) * SW - 2 * PW + DW * (KW - 1) + OPW + 1;
    /// <summary>Input channels per group.</summary>
    public int CinPerGroup => Cin / Groups;
    /// <summary>Output channels per group.</summary>
    public int CoutPerGroup => Cout / Groups;
    /// <summary>Elements of x.</summary>
    public int XLength => N * Cin * H * W;
    /// <summary>Elements of weight.</summary>
    public int WeightLength => Cin * CoutPerGroup * KH * KW;
    /// <summary>Elements of y.</summary>
    public int YLength => N * Cout * OH * OW;

    /// <summary>Throws on attributes PyTorch rejects.</summary>
    public void Validate()
    {
        if (Groups <= 0 || Cin % Groups != 0 || Cout % Groups != 0)
            throw new ArgumentException($"channels {Cin} -> {Cout} do not divide into {Groups} groups");
        if (SH <= 0 || SW <= 0 || DH <= 0 || DW <= 0 || PH < 0 || PW < 0)
            throw new ArgumentException("stride and dilation must be positive, padding non-negative");
        // PyTorch: output padding must be smaller than either stride or dilation.
        if (OPH < 0 || OPW < 0 || (OPH >= SH && OPH >= DH) || (OPW >= SW && OPW >= DW))
            throw new ArgumentException("output_padding must be smaller than stride or dilation");
        if (OH <= 0 || OW <= 0) throw new ArgumentException($"empty output {OH}x{OW}");
    }
}
