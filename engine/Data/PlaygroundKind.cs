namespace Kiln.Data;

/// <summary>The four classification data sets of the TensorFlow Playground.</summary>
public enum PlaygroundKind
{
    /// <summary>A disc of one class (radius &lt; 2.5) inside a ring of the other (radius 3.5..5).</summary>
    Circle,
    /// <summary>The four quadrants: class 1 where x * y &gt;= 0.</summary>
    Xor,
    /// <summary>Two Gaussian clouds around (2, 2) (class 1) and (-2, -2) (class 0).</summary>
    Gauss,
    /// <summary>Two interleaved spiral arms.</summary>
    Spiral,
}
