using Kiln.Cli;

return CliApp.Run(args);
