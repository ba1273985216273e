namespace Kiln.Realtime;

/// <summary>The parts of a frame whose GPU time the loop measures with timestamps.</summary>
public enum FrameStage
{
    /// <summary>Drawing the scene source (procedural scene, path tracer, masks, network inputs).</summary>
    Scene,
    /// <summary>Online training steps on the frame, and copying the updated parameters to the inference network.</summary>
    Training,
    /// <summary>The inference network on the frame.</summary>
    Network,
    /// <summary>Composing the panels into the displayed RGBA8 frame.</summary>
    Composite,
}
