/**
 * `eddy.timeseries`: windows over series, scalers, missing-value policies,
 * a CSV reader, recursive forecasting and walk-forward evaluation against
 * naive baselines, the default forecaster (`fitForecaster`, `backtest`)
 * with prediction intervals; synthetic ECG records and streaming anomaly detection
 * with event-level precision and recall.
 */
export type { Series } from './series';
export { handleMissing } from './missing';
export type { MissingPolicy } from './missing';
export { parseSeriesCsv, readSeriesCsv, SeriesTable } from './read-csv';
export type { SeriesCsvOptions } from './read-csv';
export { windows } from './windows';
export type { WindowOptions, Windows } from './windows';
export { Scaler } from './scaler';
export type { TransformOptions } from './scaler';
export { StandardScaler } from './standard-scaler';
export type { StandardScalerJSON } from './standard-scaler';
export { MinMaxScaler } from './min-max-scaler';
export type { MinMaxScalerJSON, MinMaxScalerOptions } from './min-max-scaler';
export { scalerFromJSON } from './scaler-json';
export { Forecaster, forecast } from './forecaster';
export type { ForecastModel, ForecasterOptions } from './forecaster';
export { evaluateForecast } from './evaluate';
export type { EvaluateForecastOptions, ForecastEvaluation, ForecastScores, ForecastTrainingData } from './evaluate';
export { fitForecaster, SeriesForecaster } from './series-forecaster';
export type { FitForecasterOptions, ForecasterTraining, IntervalForecast, NetworkEnd, SeriesForecasterJSON } from './series-forecaster';
export type { LagFeatures, Scaling } from './lag-features';
export { backtest, evaluateForecaster } from './backtest';
export type { BacktestOptions, BacktestPart, BacktestResult, BacktestScores, EvaluateForecasterOptions, ForecasterEvaluation } from './backtest';
export { syntheticEcg, ECG_EVENT_KINDS, ECG_EVENT_SIZES } from './ecg';
export type { EcgEvent, EcgEventKind, EcgRecord, SyntheticEcgOptions } from './ecg';
export { AnomalyDetector, AnomalyStream } from './anomaly';
export type { AnomalyDetectorOptions, AnomalyFitOptions, DetectOptions, Signals } from './anomaly';
export { alarms, eventScores, sumEventScores, quantile } from './anomaly-events';
export type { Alarm, AlarmOptions, EventScoreOptions, EventScores, SampleRange } from './anomaly-events';
export { rollingZScore } from './rolling-z-score';
export type { RollingZScoreOptions } from './rolling-z-score';
