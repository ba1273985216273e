namespace Kiln.IO;

/// <summary>
/// Where an ONNX initializer went in the imported network: the Kiln parameter ("node.param") holding its values
/// (transposed where Kiln keeps a Gemm or MatMul weight [out, in]). Gradients are reported back by
/// <see cref="OnnxName"/> in the initializer's own layout.
/// </summary>
/// <param name="OnnxName">The initializer's name in the model.</param>
/// <param name="KilnName">The Kiln parameter ("node.param") holding it.</param>
/// <param name="Dims">The initializer's shape in the model.</param>
/// <param name="Trainable">False for state (BatchNormalization's mean and variance): no gradient.</param>
public sealed record OnnxParameter(string OnnxName, string KilnName, long[] Dims, bool Trainable);
