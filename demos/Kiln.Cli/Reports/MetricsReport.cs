using System.Text.Json;
using Kiln.Training;
using Kiln.Training.Presets;

namespace Kiln.Cli.Reports;

/// <summary>metrics.json: the preset, its arguments, the recipe, the device and one entry per epoch.</summary>
internal static class MetricsReport
{
    public static void Write(string path, Preset preset, TrainingOptions recipe, string device, IReadOnlyList<EpochMetrics> epochs)
    {
        var doc = new
        {
            preset = preset.Name,
            arguments = preset.Arguments,
            recipe = new { recipe.Epochs, batch = recipe.BatchSize, learning_rate = recipe.LearningRate, optimizer = recipe.Optimizer.ToString(), recipe.Seed },
            device,
            epochs = epochs.Select(e => new
            {
                epoch = e.Epoch,
                train_loss = e.TrainLoss,
                test_loss = e.TestLoss,
                test_accuracy = e.TestAccuracy,
                test_psnr_db = e.TestPsnrDb,
                test_input_psnr_db = e.TestInputPsnrDb,
                test_masked_psnr_db = e.TestMaskedPsnrDb,
                test_masked_input_psnr_db = e.TestMaskedInputPsnrDb,
                seconds = e.Seconds,
            }),
        };
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        };
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(doc, options));
        File.Move(tmp, path, overwrite: true);
    }
}
