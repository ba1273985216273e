namespace Kiln;

/// <summary>
/// The step-state buffer of a <see cref="CompiledNetwork"/> as the host sees it: with the parameters and
/// <see cref="CompiledNetwork.OptimizerState"/>, everything a checkpoint needs to resume training exactly.
/// Read with <see cref="CompiledNetwork.ReadStepState"/>, restore with <see cref="CompiledNetwork.WriteStepState"/>.
/// </summary>
/// <param name="Step">Training steps done (the GPU advances it at the end of each step; schedules and Adam's bias correction read it).</param>
/// <param name="BaseLearningRate">The rate schedules start from (<see cref="CompiledNetwork.LearningRate"/>).</param>
/// <param name="LearningRate">The rate the last step used (the schedule's value; written by the GPU each step).</param>
/// <param name="GradientScale">The last step's clipping factor (1 without clipping).</param>
/// <param name="Seed">Seed of random layers (dropout masks hash it with the step).</param>
/// <param name="LossScale">The loss scale of the next step (<see cref="LossScaling"/>; 1 without scaling).</param>
/// <param name="GoodSteps">Finite steps in a row since the loss scale last changed.</param>
/// <param name="SkippedSteps">Steps whose gradients were not finite under loss scaling, so nothing was updated.</param>
public readonly record struct StepState(uint Step, float BaseLearningRate, float LearningRate, float GradientScale, uint Seed,
    float LossScale = 1f, uint GoodSteps = 0, uint SkippedSteps = 0);
