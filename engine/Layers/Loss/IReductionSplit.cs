using Kiln.Graph;

namespace Kiln.Layers;

/// <summary>
/// A registered way to spread a full reduction (a loss's sum over all its elements, operation "reduce.sum") over
/// workgroups: how many workgroups share it, each reducing one contiguous chunk (<see cref="LossReduction"/>); and how
/// the second pass of a split reduction with many outputs (<see cref="PartialSums"/>) adds each output's partials.
/// </summary>
internal interface IReductionSplit : IKernelEntry
{
    /// <summary>
    /// Workgroups for <paramref name="iterations"/> workgroup-iterations of work (one vec4, or one row, per invocation
    /// each), between 1 and <paramref name="iterations"/>; with 1, the first level finishes the value itself.
    /// </summary>
    int Groups(long iterations);

    /// <summary>
    /// Lanes (1, or a power of two up to 32) that add the <paramref name="splits"/> partials of each output in
    /// <see cref="PartialSums.Sum"/>: 1 walks them in one invocation; more add strided subsets, then a fixed tree.
    /// </summary>
    int PartialLanes(int splits);

    /// <summary>
    /// Invocations per row (1, or a power of two up to 256) of a reduction over rows of <paramref name="classes"/>
    /// values (softmax cross-entropy): 1 walks a row in one invocation; more split its classes and combine in trees.
    /// </summary>
    int RowLanes(int classes);
}
