using Anima.Testing;
using Anima.Voice.Audio;
using Anima.Voice.Emotion;
using Anima.Voice.Synthesis;
using Anima.Voice.Turns;

namespace Anima.Voice.Tests;

public sealed class VoiceEmotionTests
{
    [Fact]
    public void Mlp_Forward_MatchesReference()
    {
        var random = new Random(2);
        var network = new Mlp(30, 16, 5);
        FillRandom(network.HiddenWeights, random);
        FillRandom(network.HiddenBias, random);
        FillRandom(network.OutputWeights, random);
        FillRandom(network.OutputBias, random);
        var input = Enumerable.Range(0, 30).Select(_ => random.NextSingle() * 4 - 2).ToArray();
        var probabilities = new float[5];
        network.Forward(input, new float[16], probabilities);
        var reference = network.ForwardReference(input);
        Assert.True(probabilities.Zip(reference).Max(pair => Math.Abs(pair.First - pair.Second)) < 1e-5);
        Assert.Equal(1, probabilities.Sum(), 4);
    }

    [Fact]
    public void SpeakerFeatureStatistics_Normalize_GivesZScores()
    {
        var statistics = SpeakerFeatureStatistics.From([[1f, 10f], [3f, 10f], [5f, 10f]], 2);
        Assert.Equal(3, statistics.Count);
        var normalized = statistics.Normalize([5f, 10f]);
        Assert.InRange(normalized[0], 1.2, 1.23); // (5 − 3) / 1.633
        Assert.InRange(normalized[1], -0.01, 0.01); // a constant feature stays near zero instead of exploding
        var restored = new SpeakerFeatureStatistics(statistics.Count, [.. statistics.Means], [.. statistics.Variances]);
        Assert.Equal(normalized, restored.Normalize([5f, 10f]));
    }

    [Fact]
    public void Trainer_SeparableClusters_LearnsThemAndRoundTripsThroughAFile()
    {
        // Two speakers, three emotions that shift different features: learnable, and checkable after save/load.
        var random = new Random(4);
        var dimension = ProsodyFeatureExtractor.FeatureNames.Count;
        var labels = new[] { EmotionLabels.Angry, EmotionLabels.Sad, EmotionLabels.Happy };
        var examples = new List<VoiceEmotionExample>();
        foreach (var speaker in new[] { "a", "b", "c" })
        {
            var offset = speaker[0] - 'a';
            for (var index = 0; index < 60; index++)
            {
                var label = index % 3;
                var features = Enumerable.Range(0, dimension).Select(_ => (float)(random.NextDouble() + offset)).ToArray();
                for (var feature = label * 20; feature < label * 20 + 20; feature++)
                {
                    features[feature] += 1.5f; // each emotion moves a group of features, as real ones do
                }

                examples.Add(new VoiceEmotionExample($"{speaker}{index}", labels[label], speaker, features));
            }
        }

        var training = examples.Where(example => example.Speaker != "c").ToList();
        var test = examples.Where(example => example.Speaker == "c").ToList();
        var model = VoiceEmotionTrainer.Train(training, new VoiceEmotionTrainingOptions(EnsembleSize: 2, Hidden: 16, Epochs: 150), new VoiceEmotionTrainingInfo(["synthetic"], ["a", "b"], training.Count, "test", "test"), null, TestContext.Current.CancellationToken);
        var relative = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: true);
        Assert.True(relative.Accuracy > 0.9, relative.Format());

        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".json");
        try
        {
            model.Save(path);
            var loaded = VoiceEmotionModel.Load(path);
            Assert.Equal(model.Labels, loaded.Labels);
            Assert.Equal(model.Predict(test[0].Features), loaded.Predict(test[0].Features));
            var history = SpeakerFeatureStatistics.From(test.Skip(1).Take(5).Select(example => example.Features), dimension);
            Assert.Equal(model.MinimumSpeakerUtterances, loaded.MinimumSpeakerUtterances);
            Assert.Equal(model.Predict(test[0].Features, history), loaded.Predict(test[0].Features, history));
            Assert.Equal(["a", "b"], loaded.Info.Speakers);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void EvaluateOnline_JudgesEachClipWithTheSpeakersEarlierClipsOnly()
    {
        // Every voice has its own habits that move the features the emotions move; speaker "c" is new: the
        // new-speaker model is misled by c's habits, the model adapted to c's own utterances is not.
        var (training, test) = BiasedSpeakers(seed: 5);
        // Trained on whole voices and adapting after 12 utterances: the speaker statistics alone decide.
        var options = new VoiceEmotionTrainingOptions(EnsembleSize: 2, Hidden: 16, Epochs: 150, ReplayHistories: false, MinimumSpeakerUtterances: 12);
        var model = VoiceEmotionTrainer.Train(training, options, new VoiceEmotionTrainingInfo(["synthetic"], ["a", "b"], training.Count, "test", "test"), null, TestContext.Current.CancellationToken);
        var global = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: false);
        var online = VoiceEmotionEvaluation.EvaluateOnline(model, test, seed: 1);
        var transductive = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: true);

        Assert.Equal(45, online.Total);
        Assert.True(online.Accuracy > global.Accuracy + 0.2 && online.Accuracy <= transductive.Accuracy + 0.05, $"global {global.Accuracy}, online {online.Accuracy}, transductive {transductive.Accuracy}");
        // With no more clips than the adaptation needs, every clip is judged by the new-speaker model.
        var few = test.Take(model.MinimumSpeakerUtterances).ToList();
        Assert.Equal(VoiceEmotionEvaluation.Evaluate(model, few, speakerRelative: false).Confusion, VoiceEmotionEvaluation.EvaluateOnline(model, few, seed: 1).Confusion);
        // The order is seeded: the same seed gives the same result; augmented copies are never evaluated.
        Assert.Equal(online.Confusion, VoiceEmotionEvaluation.EvaluateOnline(model, [.. test, test[0] with { Augmentation = "speed 1.1" }], seed: 1).Confusion);
    }

    [Fact]
    public void Load_CorruptFile_ThrowsInvalidDataNamingTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".json");
        File.WriteAllText(path, "{\"format\":\"something-else\"");
        try
        {
            var exception = Assert.Throws<InvalidDataException>(() => VoiceEmotionModel.Load(path));
            Assert.Contains(Path.GetFileName(path), exception.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Evaluation_Format_EndsWithAccuracyLine()
    {
        var evaluation = new VoiceEmotionEvaluation(["happy", "sad"], [[3, 1], [0, 4]]);
        Assert.Equal(0.875, evaluation.Accuracy);
        Assert.InRange(evaluation.MacroF1, 0.873, 0.874);
        Assert.EndsWith("accuracy: 0.8750", evaluation.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public void Dataset_MissingColumns_ThrowsClearError()
    {
        var directory = Directory.CreateTempSubdirectory().FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "labels.tsv"), "file\tlabel\na.wav\thappy\n");
            var exception = Assert.Throws<InvalidDataException>(() => VoiceEmotionDataset.ReadLabels(directory));
            Assert.Contains("'path' and 'emotion'", exception.Message, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(directory, "labels.tsv"), "path\temotion\na.wav\tbored\n");
            exception = Assert.Throws<InvalidDataException>(() => VoiceEmotionDataset.ReadLabels(directory));
            Assert.Contains("unknown emotion 'bored'", exception.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    [Fact]
    public void Ravdess_ThreeActors_LearnWellAboveChanceOnAnUnseenActor()
    {
        // Kept small so the suite stays fast: the first repetition of actors 01–03 to train, all of actor 04 to test.
        var directory = SharedData.RequireDirectory("ravdess-16k");
        var rows = VoiceEmotionDataset.ReadLabels(directory)
            .Where(row => row.Speaker == "04" || (row.Speaker is "01" or "02" or "03" && Path.GetFileName(row.Path).Split('-')[5] == "01"))
            .ToList();
        var examples = new VoiceEmotionExample[rows.Count];
        Parallel.For(0, rows.Count, () => new ProsodyFeatureExtractor(), (index, _, extractor) =>
        {
            examples[index] = new VoiceEmotionExample(rows[index].Path, rows[index].Label, rows[index].Speaker, extractor.Extract(WaveFile.Read(rows[index].Path)).Vector);
            return extractor;
        }, _ => { });
        var model = VoiceEmotionTrainer.Train(examples.Where(example => example.Speaker != "04").ToList(), new VoiceEmotionTrainingOptions(EnsembleSize: 1, Hidden: 32, Epochs: 80), new VoiceEmotionTrainingInfo([], [], 0, "", ""), null, TestContext.Current.CancellationToken);
        var evaluation = VoiceEmotionEvaluation.Evaluate(model, examples.Where(example => example.Speaker == "04").ToList(), speakerRelative: true);
        Assert.True(evaluation.Accuracy > 0.3, evaluation.Format()); // chance is 0.125
    }

    [Fact]
    public async Task Recognizer_DefaultModel_HearsEspeakSpeechAndAdaptsToTheSpeaker()
    {
        NativeEngines.RequireEspeak();
        var recognizer = new VoiceEmotionRecognizer(VoiceEmotionModel.LoadDefault());
        Assert.Contains("CC BY-NC-SA 4.0", recognizer.Model.Info.Licence, StringComparison.Ordinal);
        var tts = new EspeakTextToSpeech();
        var speaker = recognizer.CreateSpeakerStatistics();
        VoiceEmotionEstimate? last = null;
        var utterances = Math.Max(3, recognizer.Model.MinimumSpeakerUtterances + 1);
        for (var index = 0; index < utterances; index++)
        {
            var clip = await tts.SynthesizeToClipAsync($"This is sentence number {index} of the test.", "en", new SpeechStyle(Rate: 0.8 + 0.05 * index), TestContext.Current.CancellationToken);
            last = recognizer.Recognize(clip, speaker);
            Assert.NotNull(last);
            Assert.Equal(1, last.Probabilities.Values.Sum(), 3);
            Assert.InRange(last.Valence, -1, 1);
            Assert.InRange(last.Arousal, -1, 1);
            Assert.Equal(index >= recognizer.Model.MinimumSpeakerUtterances, last.SpeakerAdapted);
        }

        Assert.Null(recognizer.Recognize(new AudioClip(TestAudio.Silence(1), 16000)));
    }

    [Fact]
    public void SpeakerPrior_From_TrustsTheSpeakerEarlyWhereVoicesDiffer()
    {
        // Feature 0: voices differ a lot (means 0, 10, 20, 30), little within a voice. Feature 1: voices share one
        // mean, much spread within. Feature 0 should follow the speaker after one utterance, feature 1 hardly.
        var random = new Random(7);
        var voices = Enumerable.Range(0, 4).Select(voice => (IReadOnlyList<float[]>)Enumerable.Range(0, 30)
            .Select(_ => new[] { voice * 10 + (float)random.NextDouble(), (float)(random.NextDouble() * 10) }).ToArray()).ToArray();
        var prior = SpeakerPrior.From(voices);
        Assert.InRange(prior.Means[0], 15, 16);
        Assert.Equal(SpeakerPrior.MinimumStrength, prior.Strengths[0]);
        Assert.True(prior.Strengths[1] > 20, $"strength {prior.Strengths[1]}");

        var empty = new SpeakerFeatureStatistics(2);
        var cold = empty.Normalize([prior.Means[0], 5f], prior);
        Assert.InRange(cold[0], -0.01, 0.01); // nothing heard: the population's mean and within-voice spread
        Assert.InRange(cold[1], 0.99 * (5 - prior.Means[1]) / MathF.Sqrt(prior.Variances[1]), 1.01 * (5 - prior.Means[1]) / MathF.Sqrt(prior.Variances[1]));

        // One utterance at 40 (a voice far above the others): feature 0 moves most of the way to it at once.
        var coldAt40 = empty.Normalize([40f, 9f], prior);
        var afterOne = SpeakerFeatureStatistics.From([[40f, 9f]], 2).Normalize([40f, 9f], prior);
        Assert.True(afterOne[0] < coldAt40[0] / 4, $"{afterOne[0]} vs {coldAt40[0]}");
        Assert.True(afterOne[1] > 1, $"{afterOne[1]}"); // still judged against the population's mean of about 5
        Assert.Throws<ArgumentException>(() => SpeakerPrior.From([voices[0]]));
    }

    [Fact]
    public void Trainer_ReplayedHistories_AdaptFromTheFirstUtterances()
    {
        // As in the online test: speaker "c" sounds angry whatever they feel. With histories replayed in training
        // the speaker-relative ensemble works after two utterances, far better than the new-speaker one.
        var (training, test) = BiasedSpeakers(seed: 8);
        var options = new VoiceEmotionTrainingOptions(EnsembleSize: 2, Hidden: 16, Epochs: 60, ReplayHistories: true, MinimumSpeakerUtterances: 2, LabelSmoothing: 0.1f);
        var model = VoiceEmotionTrainer.Train(training, options, new VoiceEmotionTrainingInfo([], [], 0, "", ""), null, TestContext.Current.CancellationToken);
        Assert.Equal(2, model.MinimumSpeakerUtterances);
        var global = VoiceEmotionEvaluation.Evaluate(model, test, speakerRelative: false);
        var online = VoiceEmotionEvaluation.EvaluateOnline(model, test, seed: 3);
        Assert.True(online.Accuracy > global.Accuracy + 0.3, $"global {global.Accuracy}, online {online.Accuracy}");
        var statistics = SpeakerFeatureStatistics.From(test.Take(2).Select(example => example.Features), test[0].Features.Length);
        Assert.True(model.IsAdapted(statistics));
        Assert.False(model.WithMinimumSpeakerUtterances(3).IsAdapted(statistics));
        // Training is deterministic for a seed, members being trained in parallel notwithstanding.
        var again = VoiceEmotionTrainer.Train(training, options, new VoiceEmotionTrainingInfo([], [], 0, "", ""), null, TestContext.Current.CancellationToken);
        Assert.Equal(model.Predict(test[5].Features, statistics), again.Predict(test[5].Features, statistics));
    }

    [Fact]
    public void CrossValidation_Nested_ChoosesAThresholdPerFoldAmongTheCandidates()
    {
        var (training, test) = BiasedSpeakers(seed: 9);
        var examples = training.Concat(test).Concat(BiasedSpeakers(seed: 10).Training.Select(example => example with { Speaker = example.Speaker + "2" })).ToList();
        var options = new VoiceEmotionTrainingOptions(EnsembleSize: 1, Hidden: 8, Epochs: 20, ReplayHistories: true);
        var scores = VoiceEmotionCrossValidation.Select(examples, [], 2, [options], [1, 30], null, TestContext.Current.CancellationToken);
        Assert.Equal([1, 30], scores.Select(score => score.Options.MinimumSpeakerUtterances));
        Assert.Equal(scores[0].Global, scores[1].Global); // one trained model per fold, thresholds scored without retraining
        var result = VoiceEmotionCrossValidation.Run(examples, [], 5, [options], [1, 30], 2, null, TestContext.Current.CancellationToken);
        Assert.Equal(5, result.Chosen.Count);
        Assert.All(result.Chosen, chosen => Assert.Contains(chosen.MinimumSpeakerUtterances, new[] { 1, 30 }));
        Assert.Equal(examples.Count, result.Online.Total);
        Assert.Throws<ArgumentException>(() => VoiceEmotionCrossValidation.Run(examples, [], 5, [options], [1, 30], 0, null, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void MlpTrainer_LabelSmoothing_KeepsPredictionsFromCertainty()
    {
        var random = new Random(11);
        var inputs = Enumerable.Range(0, 200).Select(index => new[] { index % 2 == 0 ? 3f : -3f, (float)random.NextDouble() }).ToArray();
        var targets = Enumerable.Range(0, 200).Select(index => index % 2).ToArray();
        float Confidence(float smoothing)
        {
            var network = MlpTrainer.Train(inputs, targets, 2, new MlpTrainingOptions(Hidden: 8, Epochs: 60, Dropout: 0, InputNoise: 0, LabelSmoothing: smoothing), seed: 1);
            var probabilities = new float[2];
            network.Forward(inputs[0], new float[8], probabilities);
            return probabilities[0];
        }

        Assert.True(Confidence(0) > 0.97f);
        Assert.InRange(Confidence(0.2f), 0.8f, 0.95f); // the smoothed target is 0.9
    }

    private static (List<VoiceEmotionExample> Training, List<VoiceEmotionExample> Test) BiasedSpeakers(int seed)
    {
        var random = new Random(seed);
        var dimension = ProsodyFeatureExtractor.FeatureNames.Count;
        var labels = new[] { EmotionLabels.Angry, EmotionLabels.Sad, EmotionLabels.Happy };
        var examples = new List<VoiceEmotionExample>();
        foreach (var speaker in new[] { "a", "b", "d", "e", "c" })
        {
            // Each voice has its own habits: an offset of up to ±2 on each group of features an emotion moves by 1.5.
            var groups = Enumerable.Range(0, 3).Select(_ => 2 * (random.NextSingle() * 2 - 1)).ToArray();
            var offsets = Enumerable.Range(0, dimension).Select(feature => feature < 60 ? groups[feature / 20] : 0).ToArray();
            for (var index = 0; index < 45; index++)
            {
                var label = index % 3;
                var features = Enumerable.Range(0, dimension).Select(feature => random.NextSingle() + offsets[feature]).ToArray();
                for (var feature = label * 20; feature < label * 20 + 20; feature++)
                {
                    features[feature] += 1.5f;
                }

                examples.Add(new VoiceEmotionExample($"{speaker}{index}", labels[label], speaker, features));
            }
        }

        return (examples.Where(example => example.Speaker != "c").ToList(), examples.Where(example => example.Speaker == "c").ToList());
    }

    [Fact]
    public void MoodFusion_VoiceCountsMoreOnArousalThanOnValence()
    {
        var text = new MoodReading(Valence: 0.6, Arousal: 0.0, Confidence: 0.8);
        var voice = new VoiceEmotionEstimate(new Dictionary<string, double> { ["angry"] = 1 }, "angry", 1, -0.6, 0.8, null!, true);
        var fused = MoodFusion.Fuse(text, voice);
        var valenceShift = text.Valence - fused.Valence;
        var arousalShift = fused.Arousal - text.Arousal;
        Assert.True(valenceShift > 0 && arousalShift > 0);
        Assert.True(arousalShift / 0.8 > valenceShift / 1.2, $"valence {fused.Valence:0.00}, arousal {fused.Arousal:0.00}");
        Assert.Equal(text, MoodFusion.Fuse(text, null));
    }

    [Fact]
    public void SpokenReplyTracker_InterruptedMidSentence_CutsAtAWordBoundary()
    {
        var tracker = new SpokenReplyTracker();
        tracker.AddSentence("I remember that trip.", TimeSpan.FromSeconds(1.5));
        tracker.AddSentence("You said the lake was freezing cold.", TimeSpan.FromSeconds(2));
        var heard = tracker.HeardAt(TimeSpan.FromSeconds(2.5));
        Assert.False(heard.IsComplete);
        Assert.Equal("I remember that trip. You said the lake", heard.Text);
        Assert.Equal(new HeardReply("I remember that trip. You said the lake was freezing cold.", true), tracker.HeardAt(TimeSpan.FromSeconds(4)));
        Assert.Equal(new HeardReply(string.Empty, false), tracker.HeardAt(TimeSpan.Zero));
    }

    private static void FillRandom(float[] values, Random random)
    {
        for (var index = 0; index < values.Length; index++)
        {
            values[index] = random.NextSingle() - 0.5f;
        }
    }
}
