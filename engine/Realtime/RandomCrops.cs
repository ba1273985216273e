namespace Kiln.Realtime;

/// <summary>
/// Square crops at pseudo-random positions, cut on the GPU (shaders/realtime/random_crop.comp): an online trainer's
/// batch taken out of a full frame with no readback. The positions are a hash of a seed and a key (the frame and
/// step), so a run repeats exactly; <see cref="Position"/> computes them on the host the way the shader does.
/// </summary>
internal static class RandomCrops
{
    /// <summary>Training steps a frame can have (<see cref="RealtimeDemo.TrainingStepsPerFrame"/>): keys of one frame's steps don't collide with the next frame's.</summary>
    const uint StepsPerKey = 64;

    /// <summary>The key of step <paramref name="step"/> (0..63) of frame <paramref name="frameIndex"/>.</summary>
    public static uint Key(int frameIndex, int step)
    {
        if (step < 0 || step >= StepsPerKey) throw new ArgumentOutOfRangeException(nameof(step), step, $"A frame has at most {StepsPerKey} training steps.");
        return unchecked((uint)frameIndex * StepsPerKey + (uint)step);
    }

    /// <summary>
    /// Records B = <paramref name="batch"/> crops of <paramref name="side"/> x <paramref name="side"/> pixels out of
    /// <paramref name="source"/> ([C, H, W], or [1, C, H, W]) into <paramref name="destination"/> ([B, C, side, side]),
    /// crop b at <see cref="Position"/>(<paramref name="seed"/>, <paramref name="key"/>, b); with
    /// <paramref name="logTransfer"/> each value becomes log(1 + max(v, 0)) (the denoiser's target space), else it is copied.
    /// </summary>
    public static void Record(Frame frame, Tensor source, int width, int height, Tensor destination, int side, int batch, uint seed, uint key, bool logTransfer)
    {
        if (side < 1 || side > width || side > height)
            throw new ArgumentOutOfRangeException(nameof(side), side, $"A crop of {side} pixels a side does not fit a {width}x{height} frame.");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "A batch holds at least one crop.");
        long plane = (long)width * height;
        if (source.Elements % plane != 0) throw new ArgumentException($"{source} is not a whole number of {width}x{height} planes.", nameof(source));
        long channels = source.Elements / plane;
        long expected = batch * channels * side * side;
        if (destination.Elements != expected)
            throw new ArgumentException($"{destination} does not hold {batch} crops of {channels} x {side} x {side} ({expected} values).", nameof(destination));
        frame.Dispatch2D("random_crop", side, side * batch, Frame.Push(width, height, (int)channels, side, batch, seed, key),
            new uint[] { logTransfer ? 1u : 0u }, source, destination);
    }

    /// <summary>The top-left corner of crop <paramref name="index"/> of the batch of <paramref name="key"/>, as random_crop.comp computes it.</summary>
    public static (int X, int Y) Position(uint seed, uint key, int index, int width, int height, int side)
    {
        uint s = Pcg(seed ^ Pcg(key ^ Pcg((uint)index)));
        return ((int)(s % (uint)(width - side + 1)), (int)(Pcg(s) % (uint)(height - side + 1)));
    }

    /// <summary>The PCG hash of shaders/include/realtime.glsl (rt_pcg).</summary>
    static uint Pcg(uint v)
    {
        unchecked
        {
            uint state = v * 747796405u + 2891336453u;
            uint word = ((state >> (int)((state >> 28) + 4u)) ^ state) * 277803737u;
            return (word >> 22) ^ word;
        }
    }
}
