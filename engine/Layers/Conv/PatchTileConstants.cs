using Kiln.Vulkan;

namespace Kiln.Layers;

/// <summary>
/// Where a patch kernel keeps its workgroup tile among its specialization constants (<see cref="PatchTile"/> for
/// conv2d.fwd_coopmat_patch, <see cref="WeightGradTile"/> for conv2d.bwd_weight_coopmat_patch): the subgroups along M,
/// along N and the rows at <paramref name="First"/> and the two after it, and TM_WIDE at <paramref name="WideFlag"/>,
/// set where each subgroup holds <paramref name="WideTm"/> accumulator rows of S instead of <paramref name="NarrowTm"/>.
/// </summary>
internal sealed record PatchTileConstants(int First, int WideFlag, int NarrowTm, int WideTm)
{
    /// <summary>The tuner's name of a tile: "patch{M}x{N}r{Rows}", "m{WideTm}" after it for a wide tile.</summary>
    public string Name(int m, int n, int rows, int tm) => $"patch{m}x{n}r{rows}{(tm == WideTm ? $"m{WideTm}" : "")}";

    /// <summary>The tile a spec is specialized to.</summary>
    public (int M, int N, int Rows, int Tm) Read(KernelSpec spec) =>
        ((int)spec.Constant(First), (int)spec.Constant(First + 1), (int)spec.Constant(First + 2),
         spec.Constant(WideFlag) != 0 ? WideTm : NarrowTm);

    /// <summary><paramref name="spec"/> (a form of the kernel) in a tile: its constants, padded with zeros as far as the
    /// tile's last one, and a workgroup of m x n subgroups of <paramref name="subgroupSize"/> invocations.</summary>
    public KernelSpec Write(KernelSpec spec, int m, int n, int rows, int tm, uint subgroupSize)
    {
        bool wide = tm == WideTm;
        int length = Math.Max(spec.Constants.Length, (wide ? WideFlag : First + 2) + 1);
        var constants = spec.Constants.Concat(new uint[length - spec.Constants.Length]).ToArray();
        (constants[First], constants[First + 1], constants[First + 2]) = ((uint)m, (uint)n, (uint)rows);
        if (constants.Length > WideFlag) constants[WideFlag] = wide ? 1u : 0u;
        return spec with { Constants = constants, LocalX = subgroupSize * (uint)(m * n) };
    }
}
