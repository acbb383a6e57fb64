using Keyroom.Cli;

return await CliApp.RunAsync(args, CliConsole.FromProcess());
